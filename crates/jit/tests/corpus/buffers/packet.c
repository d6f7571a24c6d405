/* Filter, parser and regex-JIT shapes: fixed-offset header reads after a
 * length check, multi-byte loads from byte buffers, a table-driven DFA (see
 * reduce.c for the annotation format). */

#include <string.h>

// npk is_ipv4: int32(uint8* p[len], int64 len) | safe
// npk is_ipv4: int32(uint8* p[12], int64 len) | unsafe | constant extent 12 for a header read at bytes 12 and 13
int is_ipv4(const unsigned char *p, long len)
{
    if (len < 14)
        return 0;
    return (p[12] << 8 | p[13]) == 0x0800;
}

// npk is_ipv4_short_check: int32(uint8* p[len], int64 len) | unsafe | off by one: len < 13 lets p[13] be read from 13 bytes
int is_ipv4_short_check(const unsigned char *p, long len)
{
    if (len < 13)
        return 0;
    return (p[12] << 8 | p[13]) == 0x0800;
}

// npk load_u32: int64(uint8* s[len], uint64 len, uint64 off) | safe
// npk load_u32: int64(uint8* s[len], int64 len, uint64 off) | unsafe | unsigned check against a signed extent: a negative len (an empty buffer) passes
long load_u32(const unsigned char *s, unsigned long len, unsigned long off)
{
    if (len < 4 || off > len - 4)
        return -1;
    unsigned v;
    memcpy(&v, s + off, 4);
    return v;
}

// npk load_u32_wrapping_check: int64(uint8* s[len], uint64 len, uint64 off) | unsafe | overflowing check: off + 4 wraps for off near 2^64
long load_u32_wrapping_check(const unsigned char *s, unsigned long len, unsigned long off)
{
    if (off + 4 > len)
        return -1;
    unsigned v;
    memcpy(&v, s + off, 4);
    return v;
}

// npk load_u16_be: int32(uint8* s[len], int64 len, int64 off) | safe
int load_u16_be(const unsigned char *s, long len, long off)
{
    if (off < 0 || len < 2 || off > len - 2)
        return -1;
    return s[off] << 8 | s[off + 1];
}

// npk load_u16_be_wrap: int32(uint8* s[len], int64 len, int64 off) | unsafe | overflowing check: len - 1 wraps to INT64_MAX for len = INT64_MIN (an empty buffer)
int load_u16_be_wrap(const unsigned char *s, long len, long off)
{
    if (off < 0 || off >= len - 1)
        return -1;
    return s[off] << 8 | s[off + 1];
}

// npk load_u16_be_unsigned_only: int32(uint8* s[len], int64 len, int64 off) | unsafe | off by one: checks off < len, reads s[off + 1]
int load_u16_be_unsigned_only(const unsigned char *s, long len, long off)
{
    if ((unsigned long)off >= (unsigned long)len)
        return -1;
    return s[off] << 8 | s[off + 1];
}

// npk dfa_run: int64(uint8* t[1024], uint8* s[n], int64 n) | safe
// npk dfa_run: int64(uint8* t[768], uint8* s[n], int64 n) | unsafe | constant extent 768 for a table indexed up to 3 * 256 + 255
long dfa_run(const unsigned char *t, const unsigned char *s, long n)
{
    unsigned st = 0;
    for (long i = 0; i < n; i++)
        st = t[(st & 3) * 256 + s[i]];
    return st;
}

// npk dfa_run_unmasked: int64(uint8* t[1024], uint8* s[n], int64 n) | unsafe | missing mask: the state (any byte) times 256 indexes far past the table
long dfa_run_unmasked(const unsigned char *t, const unsigned char *s, long n)
{
    unsigned st = 0;
    for (long i = 0; i < n; i++)
        st = t[st * 256 + s[i]];
    return st;
}

// npk utf8_count: int64(uint8* s[n], int64 n) | safe
// npk utf8_count: int64(uint8* s[8], int64 n) | unsafe | constant extent 8 for a loop bounded by n
long utf8_count(const unsigned char *s, long n)
{
    long k = 0;
    for (long i = 0; i < n; i++)
        k += (s[i] & 0xc0) != 0x80;
    return k;
}
