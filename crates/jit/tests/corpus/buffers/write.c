/* Functions that store into `mut` buffers: copies, in-place updates,
 * histograms and byte tables (see reduce.c for the annotation format).
 * They return 0 rather than void: the signature parser does not take SPEC
 * 8.1's `NIL` return type yet, and an int64 function must define rax. */

// npk scale_copy: int64(mut int64* out[n], int64* xs[n], int64 n, int64 k) | safe
// npk scale_copy: int64(int64* out[n], int64* xs[n], int64 n, int64 k) | unsafe | store into a buffer without mut
// npk scale_copy: int64(mut int64* out[8], int64* xs[n], int64 n, int64 k) | unsafe | constant extent 8 for a store loop bounded by n
long scale_copy(long *out, const long *xs, long n, long k)
{
    for (long i = 0; i < n; i++)
        out[i] = xs[i] * k;
    return 0;
}

// npk copy_i32: int64(mut int32* out[n], int32* in[n], int64 n) | safe
// npk copy_i32: int64(mut int32* out[m], int32* in[n], int64 n, int64 m) | unsafe | index from another buffer's extent: out is written up to n, it holds m
long copy_i32(int *out, const int *in, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = in[i];
    return 0;
}

// npk widen_u8: int64(mut int32* out[n], uint8* s[n], int64 n) | safe
// npk widen_u8: int64(mut int16* out[n], uint8* s[n], int64 n) | unsafe | element width: 4-byte stores into a buffer of 2-byte elements
long widen_u8(int *out, const unsigned char *s, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = s[i] * 3 - 1;
    return 0;
}

// npk prefix_sum: int64(mut int64* xs[n], int64 n) | safe
// npk prefix_sum: int64(int64* xs[n], int64 n) | unsafe | store into a buffer without mut
long prefix_sum(long *xs, long n)
{
    for (long i = 1; i < n; i++)
        xs[i] += xs[i - 1];
    return 0;
}

// npk prefix_sum_le: int64(mut int64* xs[n], int64 n) | unsafe | off by one: i <= n writes xs[n]
long prefix_sum_le(long *xs, long n)
{
    for (long i = 1; i <= n; i++)
        xs[i] += xs[i - 1];
    return 0;
}

// npk reverse: int64(mut int64* xs[n], int64 n) | safe
long reverse(long *xs, long n)
{
    if (n <= 1)
        return 0;
    long i = 0, j = n - 1;
    while (i < j) {
        long t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
        i++;
        j--;
    }
    return 0;
}

// npk reverse_wrap: int64(mut int64* xs[n], int64 n) | unsafe | index overflow: j = n - 1 wraps to INT64_MAX for n = INT64_MIN (an empty buffer)
long reverse_wrap(long *xs, long n)
{
    long i = 0, j = n - 1;
    while (i < j) {
        long t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
        i++;
        j--;
    }
    return 0;
}

// npk reverse_from_n: int64(mut int64* xs[n], int64 n) | unsafe | off by one: swaps with xs[n]
long reverse_from_n(long *xs, long n)
{
    long i = 0, j = n;
    while (i < j) {
        long t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
        i++;
        j--;
    }
    return 0;
}

// npk histogram: int64(mut uint32* h[256], uint8* s[len], int64 len) | safe
// npk histogram: int64(mut uint32* h[128], uint8* s[len], int64 len) | unsafe | constant extent 128 for an index that is any byte
// npk histogram: int64(uint32* h[256], uint8* s[len], int64 len) | unsafe | store into a buffer without mut
long histogram(unsigned *h, const unsigned char *s, long len)
{
    for (long i = 0; i < len; i++)
        h[s[i]]++;
    return 0;
}

// npk histogram_signed: int64(mut uint32* h[256], int8* s[len], int64 len) | unsafe | signed bytes as indices: h[-128..-1]
long histogram_signed(unsigned *h, const signed char *s, long len)
{
    for (long i = 0; i < len; i++)
        h[s[i]]++;
    return 0;
}

// npk translate: int64(mut uint8* s[n], int64 n, uint8* t[256]) | safe
// npk translate: int64(mut uint8* s[n], int64 n, uint8* t[200]) | unsafe | constant extent 200 for an index that is any byte
long translate(unsigned char *s, long n, const unsigned char *t)
{
    for (long i = 0; i < n; i++)
        s[i] = t[s[i]];
    return 0;
}

// npk table_sum: int64(int64* t[256], uint8* s[n], int64 n) | safe
long table_sum(const long *t, const unsigned char *s, long n)
{
    long r = 0;
    for (long i = 0; i < n; i++)
        r += t[s[i]];
    return r;
}

// npk table_sum_i16: int64(int64* t[256], int16* s[n], int64 n) | unsafe | missing check: 16-bit elements index a 256-entry table
long table_sum_i16(const long *t, const short *s, long n)
{
    long r = 0;
    for (long i = 0; i < n; i++)
        r += t[s[i]];
    return r;
}

// npk to_upper: int64(mut uint8* s[n], int64 n) | safe
// npk to_upper: int64(uint8* s[n], int64 n) | unsafe | store into a buffer without mut
long to_upper(unsigned char *s, long n)
{
    for (long i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] -= 32;
    return 0;
}

// npk add_i16: int64(mut int16* xs[n], int64 n, int32 d) | safe
// npk add_i16: int64(mut int8* xs[n], int64 n, int32 d) | unsafe | element width: 2-byte updates of a byte buffer
long add_i16(short *xs, long n, int d)
{
    for (long i = 0; i < n; i++)
        xs[i] = (short)(xs[i] + d);
    return 0;
}

// npk fill_table: int64(mut uint8* t[256]) | safe
long fill_table(unsigned char *t)
{
    for (int i = 0; i < 256; i++)
        t[i] = (unsigned char)(i * 7 + 1);
    return 0;
}

// npk fill_table_le: int64(mut uint8* t[256]) | unsafe | off by one: i <= 256 writes t[256]
long fill_table_le(unsigned char *t)
{
    for (int i = 0; i <= 256; i++)
        t[i] = (unsigned char)(i * 7 + 1);
    return 0;
}

// npk clamp_u32: int64(mut uint32* xs[n], int64 n, uint32 lo, uint32 hi) | safe
// npk clamp_u32: int64(uint32* xs[n], int64 n, uint32 lo, uint32 hi) | unsafe | store into a buffer without mut
long clamp_u32(unsigned *xs, long n, unsigned lo, unsigned hi)
{
    for (long i = 0; i < n; i++) {
        unsigned v = xs[i];
        xs[i] = v < lo ? lo : v > hi ? hi : v;
    }
    return 0;
}

// npk add_arrays_walk: int64(mut int64* out[n], int64* a[n], int64* b[n], uint64 n) | safe
// npk add_arrays_walk: int64(mut int64* out[n], int64* a[n], int64* b[m], uint64 n, uint64 m) | unsafe | index from another buffer's extent: b is walked n elements, it holds m
long add_arrays_walk(long *out, const long *a, const long *b, unsigned long n)
{
    const long *end = a + n;
    while (a != end)
        *out++ = *a++ + *b++;
    return 0;
}

// npk copy_min: int64(mut int64* out[m], int64 m, int64* in[n], int64 n) | safe
long copy_min(long *out, long m, const long *in, long n)
{
    long k = m < n ? m : n;
    for (long i = 0; i < k; i++)
        out[i] = in[i] + 1;
    return 0;
}

// npk copy_min_bad: int64(mut int64* out[m], int64 m, int64* in[n], int64 n) | unsafe | index from another buffer's extent: out is written up to n
long copy_min_bad(long *out, long m, const long *in, long n)
{
    (void)m;
    for (long i = 0; i < n; i++)
        out[i] = in[i] + 1;
    return 0;
}

// npk store8: int64(mut int64* out[8], int64 x) | safe
// npk store8: int64(int64* out[8], int64 x) | unsafe | store into a buffer without mut
// npk store8: int64(mut int64* out[6], int64 x) | unsafe | constant extent too small: the code writes 8 elements
long store8(long *out, long x)
{
    for (int i = 0; i < 8; i++)
        out[i] = x + i * x;
    return 0;
}

// npk zigzag_encode: int64(mut uint64* out[n], int64* xs[n], int64 n) | safe
// npk zigzag_encode: int64(mut uint32* out[n], int64* xs[n], int64 n) | unsafe | element width: 8-byte stores into a buffer of 4-byte elements
long zigzag_encode(unsigned long *out, const long *xs, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = ((unsigned long)xs[i] << 1) ^ (unsigned long)(xs[i] >> 63);
    return 0;
}

// npk stats6: int64(mut int64* out[6], int64* xs[n], int64 n) | safe
// npk stats6: int64(mut int64* out[5], int64* xs[n], int64 n) | unsafe | constant extent too small: six results are stored
long stats6(long *out, const long *xs, long n)
{
    long lo = 0, hi = 0, sum = 0, sq = 0, pos = 0, neg = 0, alt = 0;
    for (long i = 0; i < n; i++) {
        long v = xs[i];
        lo = i == 0 || v < lo ? v : lo;
        hi = i == 0 || v > hi ? v : hi;
        sum += v;
        sq += v * v;
        pos += v > 0;
        neg += v < 0;
        alt = alt * 31 + (v ^ i);
    }
    out[0] = lo;
    out[1] = hi;
    out[2] = sum;
    out[3] = sq;
    out[4] = pos - neg;
    out[5] = alt;
    return 0;
}

// npk matvec8: int64(mut int64* out[8], int64* m[64], int64* v[8]) | safe
// npk matvec8: int64(mut int64* out[8], int64* m[56], int64* v[8]) | unsafe | constant extent 56 for an 8 x 8 matrix
long matvec8(long *out, const long *m, const long *v)
{
    for (int i = 0; i < 8; i++) {
        long s = 0;
        for (int j = 0; j < 8; j++)
            s += m[i * 8 + j] * v[j];
        out[i] = s;
    }
    return 0;
}

// npk matvec8_inner_le: int64(mut int64* out[8], int64* m[64], int64* v[8]) | unsafe | nested bound off by one: j <= 8 reads v[8], and m[64] in the last row
long matvec8_inner_le(long *out, const long *m, const long *v)
{
    for (int i = 0; i < 8; i++) {
        long s = 0;
        for (int j = 0; j <= 8; j++)
            s += m[i * 8 + j] * v[j];
        out[i] = s;
    }
    return 0;
}
