/*
 * filter.c: a sensor-filter reactor.
 *
 * Each notification reads one synthetic sample (a triangle wave plus noise from a 64-bit LCG),
 * keeps the moving average of the last 16 samples, logs every 50th sample as
 * "filter: sample N raw=R avg=A", and sends the average to the store server with a protected
 * call on channel 2 (MR0 = average, one word). Its own protected() entry point answers with the
 * latest average in MR0 (one reply word). Deterministic.
 */
#include "sporadic.h"

#define STORE_CH 2
#define WINDOW 16

static unsigned long long lcg = 0x2545F4914F6CDD1DULL;
static long long window[WINDOW];
static long long sum, average;
static unsigned samples;

static long long read_sample(unsigned n)
{
    long long phase = n % 200, wave, noise;

    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    noise = (long long)((lcg >> 33) % 201) - 100;
    wave = phase < 100 ? phase * 20 : (200 - phase) * 20;
    return 1000 + wave + noise;
}

SPORADIC_EXPORT("init") void init(void)
{
    sporadic_log("filter: init");
}

SPORADIC_EXPORT("notified") void notified(int ch)
{
    long long raw = read_sample(samples);
    unsigned slot = samples % WINDOW;
    unsigned filled;

    (void)ch;
    sum += raw - window[slot];
    window[slot] = raw;
    samples++;
    filled = samples < WINDOW ? samples : WINDOW;
    average = sum / filled;
    if (samples % 50 == 0) {
        char buf[96], *p = buf;
        p = sporadic_put_str(p, "filter: sample ");
        p = sporadic_put_uint(p, samples);
        p = sporadic_put_str(p, " raw=");
        p = sporadic_put_int(p, raw);
        p = sporadic_put_str(p, " avg=");
        p = sporadic_put_int(p, average);
        sporadic_log_n(buf, (int)(p - buf));
    }
    microkit_mr_set(0, average);
    microkit_ppcall(STORE_CH, 1);
}

SPORADIC_EXPORT("protected") int protected(int ch, int count)
{
    (void)ch;
    (void)count;
    microkit_mr_set(0, average);
    return 1;
}
