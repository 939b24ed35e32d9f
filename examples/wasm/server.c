/*
 * server.c: a small store server.
 *
 * protected(ch, count) with count >= 1 stores MR0 as channel ch's value, counts the write, and
 * replies with that channel's running count of writes in MR0 (one word). With count == 0 it is a
 * read: it replies with the count in MR0 and the last value in MR1 (two words). Channels outside
 * 0..63 get an empty reply. notified(ch) logs "server: notified ch=N".
 */
#include "sporadic.h"

#define CHANNELS 64

static long long last[CHANNELS];
static long long writes[CHANNELS];

SPORADIC_EXPORT("init") void init(void)
{
    sporadic_log("server: init");
}

SPORADIC_EXPORT("notified") void notified(int ch)
{
    char buf[48], *p = buf;
    p = sporadic_put_str(p, "server: notified ch=");
    p = sporadic_put_int(p, ch);
    sporadic_log_n(buf, (int)(p - buf));
}

SPORADIC_EXPORT("protected") int protected(int ch, int count)
{
    if (ch < 0 || ch >= CHANNELS)
        return 0;
    if (count == 0) {
        microkit_mr_set(0, writes[ch]);
        microkit_mr_set(1, last[ch]);
        return 2;
    }
    last[ch] = microkit_mr_get(0);
    writes[ch]++;
    microkit_mr_set(0, writes[ch]);
    return 1;
}
