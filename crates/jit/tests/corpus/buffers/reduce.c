/* Reductions over one or two buffers: sums, dot products, max, counts,
 * comparisons. Each function is preceded by `// npk NAME: SIGNATURE |
 * VERDICT [| WHY]` lines (see gen_buffers.py); an unsafe line either names
 * a buggy function or gives a correct function a signature that promises
 * less than the code reads. */

// npk sum_i64: int64(int64* xs[n], int64 n) | safe
// npk sum_i64: int64(int32* xs[n], int64 n) | unsafe | element width: the code reads 8-byte elements of a buffer of 4-byte ones
// npk sum_i64: int64(int64* xs[4], int64 n) | unsafe | constant extent 4 for a loop bounded by n
long sum_i64(const long *xs, long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += xs[i];
    return s;
}

// npk sum_i64_le: int64(int64* xs[n], int64 n) | unsafe | off by one: i <= n reads xs[n]
long sum_i64_le(const long *xs, long n)
{
    long s = 0;
    for (long i = 0; i <= n; i++)
        s += xs[i];
    return s;
}

// npk sum_u8: int64(uint8* s[len], int64 len) | safe
// npk sum_u8: int64(uint8* s[m], int64 len, int64 m) | unsafe | index from another buffer's extent: s is read up to len, it holds m
long sum_u8(const unsigned char *s, long len)
{
    long t = 0;
    for (long i = 0; i < len; i++)
        t += s[i];
    return t;
}

// npk sum_i32: int64(int32* xs[n], uint64 n) | safe
// npk sum_i32: int64(int16* xs[n], uint64 n) | unsafe | element width: the code reads 4-byte elements of a buffer of 2-byte ones
unsigned long sum_i32(const int *xs, unsigned long n)
{
    long s = 0;
    for (unsigned long i = 0; i < n; i++)
        s += xs[i];
    return s;
}

// npk sum_i16: int64(int16* xs[n], int64 n) | safe
// npk sum_i16: int64(int8* xs[n], int64 n) | unsafe | element width: the code reads 2-byte elements of a byte buffer
long sum_i16(const short *xs, long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += xs[i];
    return s;
}

// npk sum_i8: int32(int8* xs[n], int64 n) | safe
// npk sum_i8: int32(int8* xs[3], int64 n) | unsafe | constant extent 3 for a loop bounded by n
int sum_i8(const signed char *xs, long n)
{
    int s = 0;
    for (long i = 0; i < n; i++)
        s += xs[i];
    return s;
}

// npk sum_unsigned_index: int64(int64* xs[n], uint64 n) | safe
// npk sum_unsigned_index: int64(int64* xs[n], int64 n) | unsafe | unsigned loop over a signed extent: a negative n (an empty buffer) runs i up to 2^64
long sum_unsigned_index(const long *xs, unsigned long n)
{
    long s = 0;
    for (unsigned long i = 0; i < n; i++)
        s += xs[i];
    return s;
}

// npk dot_i64: int64(int64* a[n], int64* b[n], int64 n) | safe
// npk dot_i64: int64(int64* a[n], int64* b[m], int64 n, int64 m) | unsafe | index from another buffer's extent: b is read up to n, it holds m
long dot_i64(const long *a, const long *b, long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

// npk dot_i32_i16: int64(int32* a[n], int16* b[n], int64 n) | safe
// npk dot_i32_i16: int64(int32* a[n], int8* b[n], int64 n) | unsafe | element width: b is read as 2-byte elements, the signature says 1
long dot_i32_i16(const int *a, const short *b, long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += (long)a[i] * b[i];
    return s;
}

// npk max_i64: int64(int64* xs[n], int64 n) | safe
long max_i64(const long *xs, long n)
{
    long m = -9223372036854775807L - 1;
    for (long i = 0; i < n; i++)
        if (xs[i] > m)
            m = xs[i];
    return m;
}

// npk max_i64_first: int64(int64* xs[n], int64 n) | unsafe | missing check: xs[0] is read even when n is 0
long max_i64_first(const long *xs, long n)
{
    long m = xs[0];
    for (long i = 1; i < n; i++)
        if (xs[i] > m)
            m = xs[i];
    return m;
}

// npk argmax_u32: int64(uint32* xs[n], int64 n) | safe
// npk argmax_u32: int64(uint16* xs[n], int64 n) | unsafe | element width: the code reads 4-byte elements of a buffer of 2-byte ones
long argmax_u32(const unsigned *xs, long n)
{
    long best = -1;
    unsigned m = 0;
    for (long i = 0; i < n; i++)
        if (best < 0 || xs[i] > m) {
            m = xs[i];
            best = i;
        }
    return best;
}

// npk count_byte: int64(uint8* s[len], int64 len, int32 c) | safe
long count_byte(const unsigned char *s, long len, int c)
{
    long k = 0;
    for (long i = 0; i < len; i++)
        k += s[i] == (unsigned char)c;
    return k;
}

// npk count_byte_le: int64(uint8* s[len], int64 len, int32 c) | unsafe | off by one: i <= len reads s[len]
long count_byte_le(const unsigned char *s, long len, int c)
{
    long k = 0;
    for (long i = 0; i <= len; i++)
        k += s[i] == (unsigned char)c;
    return k;
}

// npk count_byte_u: int64(uint8* s[len], uint64 len, int32 c) | safe
// npk count_byte_u: int64(uint8* s[len], int64 len, int32 c) | unsafe | unsigned loop over a signed extent: a negative len (an empty buffer) runs i up to 2^64
long count_byte_u(const unsigned char *s, unsigned long len, int c)
{
    long k = 0;
    for (unsigned long i = 0; i < len; i++)
        if (s[i] == (unsigned char)c)
            k++;
    return k;
}

// npk sum_pairs: int64(int64* xs[n], int64 n) | safe
long sum_pairs(const long *xs, long n)
{
    long s = 0;
    for (long i = 0; i + 1 < n; i += 2)
        s += xs[i] * xs[i + 1];
    return s;
}

// npk sum_pairs_bad: int64(int64* xs[n], int64 n) | unsafe | stride bound: i < n lets xs[i + 1] read xs[n] for odd n
long sum_pairs_bad(const long *xs, long n)
{
    long s = 0;
    for (long i = 0; i < n; i += 2)
        s += xs[i] * xs[i + 1];
    return s;
}

// npk sum8: int64(int64* xs[8]) | safe
// npk sum8: int64(int64* xs[7]) | unsafe | constant extent too small: the code reads 8 elements
long sum8(const long *xs)
{
    long s = 0;
    for (int i = 0; i < 8; i++)
        s += xs[i] ^ (s >> 3);
    return s;
}

// npk sum_walk_ne: int64(int64* xs[n], uint64 n) | safe
// npk sum_walk_ne: int64(int64* xs[n], int64 n) | unsafe | pointer walk to p != xs + n over a signed extent: a negative n never meets the end
long sum_walk_ne(const long *xs, unsigned long n)
{
    long s = 0;
    for (const long *p = xs; p != xs + n; p++)
        s += *p;
    return s;
}

// npk sum_walk_lt: int64(int64* xs[n], int64 n) | safe
// npk sum_walk_lt: int64(int16* xs[n], int64 n) | unsafe | element width: the walk reads 8-byte elements of a buffer of 2-byte ones
long sum_walk_lt(const long *xs, long n)
{
    if (n <= 0)
        return 0;
    long s = 0;
    for (const long *p = xs; p < xs + n; p++)
        s = s * 3 + *p;
    return s;
}

// npk sum_walk_lt_wrap: int64(int64* xs[n], int64 n) | unsafe | end pointer overflow: for n near INT64_MIN (an empty buffer) xs + 8n wraps above xs
long sum_walk_lt_wrap(const long *xs, long n)
{
    long s = 0;
    for (const long *p = xs; p < xs + n; p++)
        s = s * 3 + *p;
    return s;
}

// npk sum_walk_le: int64(int64* xs[n], int64 n) | unsafe | off by one: p <= xs + n reads one element past the end
long sum_walk_le(const long *xs, long n)
{
    long s = 0;
    for (const long *p = xs; p <= xs + n; p++)
        s = s * 3 + *p;
    return s;
}

// npk last: int64(int64* xs[n], int64 n) | safe
long last(const long *xs, long n)
{
    return n > 0 ? xs[n - 1] : 0;
}

// npk last_ge: int64(int64* xs[n], int64 n) | unsafe | off by one: n >= 0 reads xs[-1] when n is 0
long last_ge(const long *xs, long n)
{
    return n >= 0 ? xs[n - 1] : 0;
}

// npk horner: int64(int64* c[n], int64 n, int64 x) | safe
long horner(const long *c, long n, long x)
{
    long r = 0;
    for (long i = n; i > 0; i--)
        r = r * x + c[i - 1];
    return r;
}

// npk horner_from_n: int64(int64* c[n], int64 n, int64 x) | unsafe | off by one: starts at c[n]
long horner_from_n(const long *c, long n, long x)
{
    long r = 0;
    for (long i = n; i >= 0; i--)
        r = r * x + c[i];
    return r;
}

// npk horner_wrap: int64(int64* c[n], int64 n, int64 x) | unsafe | index overflow: n - 1 wraps to INT64_MAX for n = INT64_MIN (an empty buffer)
long horner_wrap(const long *c, long n, long x)
{
    long r = 0;
    for (long i = n - 1; i >= 0; i--)
        r = r * x + c[i];
    return r;
}

// npk common_prefix: int64(uint8* a[na], int64 na, uint8* b[nb], int64 nb) | safe
long common_prefix(const unsigned char *a, long na, const unsigned char *b, long nb)
{
    long i = 0;
    while (i < na && i < nb && a[i] == b[i])
        i++;
    return i;
}

// npk common_prefix_one_bound: int64(uint8* a[na], int64 na, uint8* b[nb], int64 nb) | unsafe | index from another buffer's extent: b is indexed up to na
long common_prefix_one_bound(const unsigned char *a, long na, const unsigned char *b, long nb)
{
    (void)nb;
    long i = 0;
    while (i < na && a[i] == b[i])
        i++;
    return i;
}

// npk compare_bytes: int32(uint8* a[n], uint8* b[n], int64 n) | safe
// npk compare_bytes: int32(uint8* a[n], uint8* b[4], int64 n) | unsafe | constant extent 4 for a buffer read up to n
int compare_bytes(const unsigned char *a, const unsigned char *b, long n)
{
    for (long i = 0; i < n; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

// npk fletcher16: uint32(uint16* xs[n], int64 n) | safe
// npk fletcher16: uint32(uint8* xs[n], int64 n) | unsafe | element width: the code reads 2-byte elements of a byte buffer
unsigned fletcher16(const unsigned short *xs, long n)
{
    unsigned a = 0, b = 0;
    for (long i = 0; i < n; i++) {
        a = (a + xs[i]) % 65535;
        b = (b + a) % 65535;
    }
    return b << 16 | a;
}

// npk sum_walk_down: int64(int64* xs[n], uint64 n) | safe
// npk sum_walk_down: int64(int64* xs[n], int64 n) | unsafe | pointer walk down from xs + n over a signed extent: a negative n starts below xs and never meets it
long sum_walk_down(const long *xs, unsigned long n)
{
    long s = 0;
    for (const long *p = xs + n; p != xs;)
        s = s * 7 + *--p;
    return s;
}
