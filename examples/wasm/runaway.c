/*
 * runaway.c: a reactor whose notified() never returns: it spins on a volatile counter, which
 * the compiler cannot remove. Only a budget (or running out of fuel) stops it.
 */
#include "sporadic.h"

static volatile unsigned long long spins;

SPORADIC_EXPORT("init") void init(void)
{
    sporadic_log("runaway: init");
}

SPORADIC_EXPORT("notified") void notified(int ch)
{
    (void)ch;
    for (;;)
        spins++;
}
