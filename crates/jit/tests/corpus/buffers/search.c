/* Searches and parsers with early exits, bounds-check idioms and indices
 * that come from parameters (see reduce.c for the annotation format). */

// npk find_i64: int64(int64* xs[n], int64 n, int64 x) | safe
long find_i64(const long *xs, long n, long x)
{
    for (long i = 0; i < n; i++)
        if (xs[i] == x)
            return i;
    return -1;
}

// npk find_i64_le: int64(int64* xs[n], int64 n, int64 x) | unsafe | off by one: i <= n reads xs[n] when x is absent
long find_i64_le(const long *xs, long n, long x)
{
    for (long i = 0; i <= n; i++)
        if (xs[i] == x)
            return i;
    return -1;
}

// npk strnlen_bounded: int64(uint8* s[len], int64 len) | safe
long strnlen_bounded(const unsigned char *s, long len)
{
    long i = 0;
    while (i < len && s[i] != 0)
        i++;
    return i;
}

// npk strnlen_bounded_bad_order: int64(uint8* s[len], int64 len) | unsafe | check order: s[i] is read before i < len
long strnlen_bounded_bad_order(const unsigned char *s, long len)
{
    long i = 0;
    while (s[i] != 0 && i < len)
        i++;
    return i;
}

// npk strlen_unbounded: int64(uint8* s[len], int64 len) | unsafe | missing bounds check: stops only at a zero byte
long strlen_unbounded(const unsigned char *s, long len)
{
    (void)len;
    long i = 0;
    while (s[i] != 0)
        i++;
    return i;
}

// npk memchr_index: int64(uint8* s[len], int64 len, int32 c) | safe
// npk memchr_index: int64(uint8* s[16], int64 len, int32 c) | unsafe | constant extent 16 for a loop bounded by len
long memchr_index(const unsigned char *s, long len, int c)
{
    for (long i = 0; i < len; i++)
        if (s[i] == (unsigned char)c)
            return i;
    return -1;
}

// npk memchr_walk: int64(uint8* s[len], uint64 len, int32 c) | safe
// npk memchr_walk: int64(uint8* s[len], int64 len, int32 c) | unsafe | pointer walk to p != s + len over a signed extent: a negative len never meets the end
long memchr_walk(const unsigned char *s, unsigned long len, int c)
{
    for (const unsigned char *p = s; p != s + len; p++)
        if (*p == (unsigned char)c)
            return p - s;
    return -1;
}

// npk bsearch_i64: int64(int64* xs[n], int64 n, int64 key) | safe
long bsearch_i64(const long *xs, long n, long key)
{
    long lo = 0, hi = n;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (xs[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// npk bsearch_i64_inclusive: int64(int64* xs[n], int64 n, int64 key) | unsafe | off by one: hi = n with lo <= hi reads xs[n] for a key above every element
long bsearch_i64_inclusive(const long *xs, long n, long key)
{
    long lo = 0, hi = n;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (xs[mid] < key)
            lo = mid + 1;
        else
            hi = mid - 1;
    }
    return lo;
}

// npk parse_uint: int64(uint8* s[len], int64 len) | safe
// npk parse_uint: int64(uint8* s[2], int64 len) | unsafe | constant extent 2 for a loop bounded by len
long parse_uint(const unsigned char *s, long len)
{
    long v = 0;
    for (long i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

// npk skip_spaces: int64(uint8* s[len], uint64 len, int64 i) | safe
long skip_spaces(const unsigned char *s, unsigned long len, long i)
{
    while ((unsigned long)i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

// npk skip_spaces_signed: int64(uint8* s[len], int64 len, int64 i) | unsafe | signed-only check: a negative start index reads before s
long skip_spaces_signed(const unsigned char *s, long len, long i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

// npk get_checked: int64(int64* xs[n], uint64 n, int64 i) | safe
// npk get_checked: int64(int64* xs[n], int64 n, int64 i) | unsafe | unsigned check against a signed extent: a negative n (an empty buffer) passes every index
long get_checked(const long *xs, unsigned long n, long i)
{
    if ((unsigned long)i < n)
        return xs[i];
    return -1;
}

// npk get_signed_check: int64(int64* xs[n], int64 n, int64 i) | unsafe | signed-only check: a negative i reads before xs
long get_signed_check(const long *xs, long n, long i)
{
    if (i < n)
        return xs[i];
    return -1;
}

// npk get_masked: int64(int64* xs[8], int64 i) | safe
// npk get_masked: int64(int64* xs[4], int64 i) | unsafe | constant extent too small for the mask 7
long get_masked(const long *xs, long i)
{
    return xs[i & 7];
}

// npk get_masked_15: int64(int64* xs[8], int64 i) | unsafe | mask 15 for an extent of 8
long get_masked_15(const long *xs, long i)
{
    return xs[i & 15];
}

// npk get_u16_clamped: int32(uint16* xs[n], int64 n, int64 i) | safe
// npk get_u16_clamped: int32(uint16* xs[4], int64 n, int64 i) | unsafe | constant extent 4 for an index clamped to n
int get_u16_clamped(const unsigned short *xs, long n, long i)
{
    if (n <= 0)
        return -1;
    if (i < 0)
        i = 0;
    if (i >= n)
        i = n - 1;
    return xs[i];
}

// npk match4: int32(uint8* s[len], int64 len, uint8* pat[4]) | safe
int match4(const unsigned char *s, long len, const unsigned char *pat)
{
    if (len < 4)
        return 0;
    return s[0] == pat[0] && s[1] == pat[1] && s[2] == pat[2] && s[3] == pat[3];
}

// npk match4_unchecked: int32(uint8* s[len], int64 len, uint8* pat[4]) | unsafe | missing check: reads 4 bytes of s whatever len is
int match4_unchecked(const unsigned char *s, long len, const unsigned char *pat)
{
    (void)len;
    return s[0] == pat[0] && s[1] == pat[1] && s[2] == pat[2] && s[3] == pat[3];
}

// npk last_index_of: int64(int32* xs[n], int64 n, int32 x) | safe
// npk last_index_of: int64(int32* xs[m], int64 n, int32 x, int64 m) | unsafe | index from another buffer's extent: xs is read from n - 1 down, it holds m
long last_index_of(const int *xs, long n, int x)
{
    for (long i = n; i > 0; i--)
        if (xs[i - 1] == x)
            return i - 1;
    return -1;
}

// npk last_index_of_wrap: int64(int32* xs[n], int64 n, int32 x) | unsafe | index overflow: n - 1 wraps to INT64_MAX for n = INT64_MIN (an empty buffer)
long last_index_of_wrap(const int *xs, long n, int x)
{
    for (long i = n - 1; i >= 0; i--)
        if (xs[i] == x)
            return i;
    return -1;
}

// npk count_words: int64(uint8* s[len], int64 len) | safe
// npk count_words: int64(uint8* s[4], int64 len) | unsafe | constant extent 4 for a loop bounded by len
long count_words(const unsigned char *s, long len)
{
    long words = 0;
    int in_word = 0;
    for (long i = 0; i < len; i++) {
        int space = s[i] == ' ' || s[i] == '\n';
        words += !space && !in_word;
        in_word = !space;
    }
    return words;
}
