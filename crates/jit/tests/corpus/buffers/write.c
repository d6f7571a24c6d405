/* Functions that store into `mut` buffers: copies, in-place updates,
 * histograms and byte tables (see reduce.c for the annotation format). */

// npk scale_copy: NIL(mut int64* out[n], int64* xs[n], int64 n, int64 k) | safe
// npk scale_copy: NIL(int64* out[n], int64* xs[n], int64 n, int64 k) | unsafe | store into a buffer without mut
// npk scale_copy: NIL(mut int64* out[8], int64* xs[n], int64 n, int64 k) | unsafe | constant extent 8 for a store loop bounded by n
void scale_copy(long *out, const long *xs, long n, long k)
{
    for (long i = 0; i < n; i++)
        out[i] = xs[i] * k;
}

// npk copy_i32: NIL(mut int32* out[n], int32* in[n], int64 n) | safe
// npk copy_i32: NIL(mut int32* out[m], int32* in[n], int64 n, int64 m) | unsafe | index from another buffer's extent: out is written up to n, it holds m
void copy_i32(int *out, const int *in, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = in[i];
}

// npk widen_u8: NIL(mut int32* out[n], uint8* s[n], int64 n) | safe
// npk widen_u8: NIL(mut int16* out[n], uint8* s[n], int64 n) | unsafe | element width: 4-byte stores into a buffer of 2-byte elements
void widen_u8(int *out, const unsigned char *s, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = s[i] * 3 - 1;
}

// npk prefix_sum: NIL(mut int64* xs[n], int64 n) | safe
// npk prefix_sum: NIL(int64* xs[n], int64 n) | unsafe | store into a buffer without mut
void prefix_sum(long *xs, long n)
{
    for (long i = 1; i < n; i++)
        xs[i] += xs[i - 1];
}

// npk prefix_sum_le: NIL(mut int64* xs[n], int64 n) | unsafe | off by one: i <= n writes xs[n]
void prefix_sum_le(long *xs, long n)
{
    for (long i = 1; i <= n; i++)
        xs[i] += xs[i - 1];
}

// npk reverse: NIL(mut int64* xs[n], int64 n) | safe
void reverse(long *xs, long n)
{
    long i = 0, j = n - 1;
    while (i < j) {
        long t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
        i++;
        j--;
    }
}

// npk reverse_from_n: NIL(mut int64* xs[n], int64 n) | unsafe | off by one: swaps with xs[n]
void reverse_from_n(long *xs, long n)
{
    long i = 0, j = n;
    while (i < j) {
        long t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
        i++;
        j--;
    }
}

// npk histogram: NIL(mut uint32* h[256], uint8* s[len], int64 len) | safe
// npk histogram: NIL(mut uint32* h[128], uint8* s[len], int64 len) | unsafe | constant extent 128 for an index that is any byte
// npk histogram: NIL(uint32* h[256], uint8* s[len], int64 len) | unsafe | store into a buffer without mut
void histogram(unsigned *h, const unsigned char *s, long len)
{
    for (long i = 0; i < len; i++)
        h[s[i]]++;
}

// npk histogram_signed: NIL(mut uint32* h[256], int8* s[len], int64 len) | unsafe | signed bytes as indices: h[-128..-1]
void histogram_signed(unsigned *h, const signed char *s, long len)
{
    for (long i = 0; i < len; i++)
        h[s[i]]++;
}

// npk translate: NIL(mut uint8* s[n], int64 n, uint8* t[256]) | safe
// npk translate: NIL(mut uint8* s[n], int64 n, uint8* t[200]) | unsafe | constant extent 200 for an index that is any byte
void translate(unsigned char *s, long n, const unsigned char *t)
{
    for (long i = 0; i < n; i++)
        s[i] = t[s[i]];
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

// npk to_upper: NIL(mut uint8* s[n], int64 n) | safe
// npk to_upper: NIL(uint8* s[n], int64 n) | unsafe | store into a buffer without mut
void to_upper(unsigned char *s, long n)
{
    for (long i = 0; i < n; i++)
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] -= 32;
}

// npk add_i16: NIL(mut int16* xs[n], int64 n, int32 d) | safe
// npk add_i16: NIL(mut int8* xs[n], int64 n, int32 d) | unsafe | element width: 2-byte updates of a byte buffer
void add_i16(short *xs, long n, int d)
{
    for (long i = 0; i < n; i++)
        xs[i] = (short)(xs[i] + d);
}

// npk fill_table: NIL(mut uint8* t[256]) | safe
void fill_table(unsigned char *t)
{
    for (int i = 0; i < 256; i++)
        t[i] = (unsigned char)(i * 7 + 1);
}

// npk fill_table_le: NIL(mut uint8* t[256]) | unsafe | off by one: i <= 256 writes t[256]
void fill_table_le(unsigned char *t)
{
    for (int i = 0; i <= 256; i++)
        t[i] = (unsigned char)(i * 7 + 1);
}

// npk clamp_u32: NIL(mut uint32* xs[n], int64 n, uint32 lo, uint32 hi) | safe
// npk clamp_u32: NIL(uint32* xs[n], int64 n, uint32 lo, uint32 hi) | unsafe | store into a buffer without mut
void clamp_u32(unsigned *xs, long n, unsigned lo, unsigned hi)
{
    for (long i = 0; i < n; i++) {
        unsigned v = xs[i];
        xs[i] = v < lo ? lo : v > hi ? hi : v;
    }
}

// npk add_arrays_walk: NIL(mut int64* out[n], int64* a[n], int64* b[n], uint64 n) | safe
// npk add_arrays_walk: NIL(mut int64* out[n], int64* a[n], int64* b[m], uint64 n, uint64 m) | unsafe | index from another buffer's extent: b is walked n elements, it holds m
void add_arrays_walk(long *out, const long *a, const long *b, unsigned long n)
{
    const long *end = a + n;
    while (a != end)
        *out++ = *a++ + *b++;
}

// npk copy_min: NIL(mut int64* out[m], int64 m, int64* in[n], int64 n) | safe
void copy_min(long *out, long m, const long *in, long n)
{
    long k = m < n ? m : n;
    for (long i = 0; i < k; i++)
        out[i] = in[i] + 1;
}

// npk copy_min_bad: NIL(mut int64* out[m], int64 m, int64* in[n], int64 n) | unsafe | index from another buffer's extent: out is written up to n
void copy_min_bad(long *out, long m, const long *in, long n)
{
    (void)m;
    for (long i = 0; i < n; i++)
        out[i] = in[i] + 1;
}

// npk store8: NIL(mut int64* out[8], int64 x) | safe
// npk store8: NIL(int64* out[8], int64 x) | unsafe | store into a buffer without mut
// npk store8: NIL(mut int64* out[6], int64 x) | unsafe | constant extent too small: the code writes 8 elements
void store8(long *out, long x)
{
    for (int i = 0; i < 8; i++)
        out[i] = x + i * x;
}

// npk zigzag_encode: NIL(mut uint64* out[n], int64* xs[n], int64 n) | safe
// npk zigzag_encode: NIL(mut uint32* out[n], int64* xs[n], int64 n) | unsafe | element width: 8-byte stores into a buffer of 4-byte elements
void zigzag_encode(unsigned long *out, const long *xs, long n)
{
    for (long i = 0; i < n; i++)
        out[i] = ((unsigned long)xs[i] << 1) ^ (unsigned long)(xs[i] >> 63);
}
