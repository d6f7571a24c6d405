/* CHECK(cond): counts and reports failed conditions without stopping the test program. */
#ifndef NPK_TEST_CHECK_H
#define NPK_TEST_CHECK_H
#include <stdio.h>

static int failures = 0;
#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "CHECK failed at line %d: %s\n", __LINE__, #cond);  \
            failures++;                                                         \
        }                                                                       \
    } while (0)

#endif
