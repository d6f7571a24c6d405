/* Arrays in the function's own stack frame, indexed by a register (see
 * reduce.c for the annotation format). */

// npk rev_via_local: int64(int64* xs[n], int64 n) | safe
long rev_via_local(const long *xs, long n)
{
    long tmp[16];
    long m = n < 0 ? 0 : n > 16 ? 16 : n;
    for (long i = 0; i < m; i++)
        tmp[i] = xs[i];
    long s = 0;
    for (long i = 0; i < m; i++)
        s = s * 5 + tmp[m - 1 - i];
    return s;
}

// npk rev_via_local_17: int64(int64* xs[n], int64 n) | unsafe | local array overflow: up to 17 elements into tmp[16]
long rev_via_local_17(const long *xs, long n)
{
    long tmp[16];
    long m = n < 0 ? 0 : n > 17 ? 17 : n;
    for (long i = 0; i < m; i++)
        tmp[i] = xs[i];
    long s = 0;
    for (long i = 0; i < m; i++)
        s = s * 5 + tmp[m - 1 - i];
    return s;
}

// npk digit_sum: int64(uint64 x) | safe
long digit_sum(unsigned long x)
{
    unsigned char buf[24];
    int k = 0;
    do {
        buf[k++] = (unsigned char)(x % 10);
        x /= 10;
    } while (x != 0);
    long s = 0;
    for (int i = 0; i < k; i++)
        s = s * 3 + buf[i];
    return s;
}

// npk median8: int64(int64* xs[8]) | safe
// npk median8: int64(int64* xs[5]) | unsafe | constant extent too small: the code copies 8 elements
long median8(const long *xs)
{
    long t[8];
    for (int i = 0; i < 8; i++)
        t[i] = xs[i];
    for (int i = 1; i < 8; i++) {
        long key = t[i];
        int j = i - 1;
        while (j >= 0 && t[j] > key) {
            t[j + 1] = t[j];
            j--;
        }
        t[j + 1] = key;
    }
    return t[4];
}

// npk lookup_local: int64(int64 x, int64 i) | safe
long lookup_local(long x, long i)
{
    long t[8];
    for (int k = 0; k < 8; k++)
        t[k] = x * k + 1;
    return t[i & 7];
}

// npk lookup_local_15: int64(int64 x, int64 i) | unsafe principle | mask 15 on a local array of 8: reads the caller's stack above the frame, which is mapped, so nothing faults
long lookup_local_15(long x, long i)
{
    long t[8];
    for (int k = 0; k < 8; k++)
        t[k] = x * k + 1;
    return t[i & 15];
}

// npk byte_freq_max: int64(uint8* s[len], int64 len) | safe
// npk byte_freq_max: int64(uint8* s[8], int64 len) | unsafe | constant extent 8 for a loop bounded by len
long byte_freq_max(const unsigned char *s, long len)
{
    unsigned counts[16];
    for (int k = 0; k < 16; k++)
        counts[k] = 0;
    for (long i = 0; i < len; i++)
        counts[s[i] & 15]++;
    unsigned best = 0;
    for (int k = 0; k < 16; k++)
        if (counts[k] > best)
            best = counts[k];
    return best;
}

// npk digit_sum_small_buffer: int64(uint64 x) | unsafe | local array overflow: up to 20 digits into buf[4]
long digit_sum_small_buffer(unsigned long x)
{
    unsigned char buf[4];
    int k = 0;
    do {
        buf[k++] = (unsigned char)(x % 10);
        x /= 10;
    } while (x != 0);
    long s = 0;
    for (int i = 0; i < k; i++)
        s = s * 3 + buf[i];
    return s;
}
