/*
 * sporadic.h: the host ABI of sporadic's WebAssembly partitions (see docs/wasm-abi.md).
 *
 * A reactor module is a Microkit-style protection domain. It exports
 *
 *     void init(void);                  called once, before anything else
 *     void notified(int ch);            a notification arrived on channel ch
 *     int  protected(int ch, int count) optional: a protected procedure call on channel ch
 *                                       with `count` message words in MR0..MR(count-1);
 *                                       returns the number of reply words it set
 *
 * with SPORADIC_EXPORT("init") and so on, and imports the functions below from the module
 * "sporadic". Build it as a WASI reactor:
 *
 *     clang --target=wasm32-wasi --sysroot=/usr -O2 -mexec-model=reactor -Iinclude x.c -o x.wasm
 *
 * Nothing here needs libc: the helpers are freestanding, so a reactor that uses only this header
 * imports nothing but "sporadic".
 */
#ifndef SPORADIC_H
#define SPORADIC_H

#define SPORADIC_IMPORT(name) __attribute__((import_module("sporadic"), import_name(name)))
#define SPORADIC_EXPORT(name) __attribute__((export_name(name)))

/* Number of message registers: mr_get/mr_set take 0..SPORADIC_MR_COUNT-1. */
#define SPORADIC_MR_COUNT 64

/* ---- imports from the module "sporadic" ---------------------------------------------------- */

/* Signal channel ch (microkit_notify). Asynchronous: it is recorded and takes effect at the
 * simulated time the module has reached, by its fuel; the module keeps running. */
SPORADIC_IMPORT("notify") void notify(int ch);

/* Protected procedure call on channel ch (microkit_ppcall): MR0..MR(count-1) are the message.
 * Returns the reply's word count; the reply words are then in MR0... */
SPORADIC_IMPORT("ppcall") int ppcall(int ch, int count);

/* Message registers 0..63 (microkit_mr_get / microkit_mr_set). */
SPORADIC_IMPORT("mr_get") long long mr_get(int i);
SPORADIC_IMPORT("mr_set") void mr_set(int i, long long v);

/* Current simulated time in nanoseconds. */
SPORADIC_IMPORT("now") long long now(void);

/* One log line of len bytes at ptr (no newline needed). Import name "log"; it is called
 * sporadic_log_n in C so that it cannot clash with <math.h>'s log(). */
SPORADIC_IMPORT("log") void sporadic_log_n(const char *ptr, int len);

/* seL4_Yield. Import name "yield". */
SPORADIC_IMPORT("yield") void sporadic_yield(void);

/* ---- helpers -------------------------------------------------------------------------------- */

static inline int sporadic_strlen(const char *s)
{
    int n = 0;
    while (s[n])
        n++;
    return n;
}

/* Log a NUL-terminated string as one line. */
static inline void sporadic_log(const char *s)
{
    sporadic_log_n(s, sporadic_strlen(s));
}

/* Microkit-style names. */
typedef int microkit_channel;

static inline void microkit_notify(microkit_channel ch) { notify(ch); }
static inline int microkit_ppcall(microkit_channel ch, int count) { return ppcall(ch, count); }
static inline long long microkit_mr_get(int i) { return mr_get(i); }
static inline void microkit_mr_set(int i, long long v) { mr_set(i, v); }

/* ---- a tiny formatter, for log lines without printf -------------------------------------------
 *
 *     char buf[64], *p = buf;
 *     p = sporadic_put_str(p, "tick ");
 *     p = sporadic_put_int(p, n);
 *     sporadic_log_n(buf, (int)(p - buf));
 *
 * Each function writes at p and returns the end of what it wrote; no NUL is written. The caller
 * keeps the buffer large enough (an integer takes at most 20 bytes).
 */

static inline char *sporadic_put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static inline char *sporadic_put_uint(char *p, unsigned long long v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static inline char *sporadic_put_int(char *p, long long v)
{
    if (v < 0) {
        *p++ = '-';
        return sporadic_put_uint(p, 0ULL - (unsigned long long)v);
    }
    return sporadic_put_uint(p, (unsigned long long)v);
}

/* v / 10^decimals written as a decimal fraction, e.g. (-1234, 3) -> "-1.234". */
static inline char *sporadic_put_fixed(char *p, long long v, int decimals)
{
    unsigned long long scale = 1, mag;
    int i;
    for (i = 0; i < decimals; i++)
        scale *= 10;
    if (v < 0) {
        *p++ = '-';
        mag = 0ULL - (unsigned long long)v;
    } else {
        mag = (unsigned long long)v;
    }
    p = sporadic_put_uint(p, mag / scale);
    if (decimals > 0) {
        unsigned long long frac = mag % scale;
        *p++ = '.';
        for (i = decimals - 1; i >= 0; i--) {
            p[i] = (char)('0' + frac % 10);
            frac /= 10;
        }
        p += decimals;
    }
    return p;
}

#endif /* SPORADIC_H */
