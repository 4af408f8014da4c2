/* ultime.h - clocks.  Deadlines use the monotonic clock so a wall-clock step
 * (NTP) never fires or stretches a timeout; records use wall-clock seconds. */
#ifndef UL_TIME_H
#define UL_TIME_H

#include <stdint.h>
#include <stddef.h>

int64_t ul_mono_ms(void);   /* monotonic milliseconds */
int64_t ul_wall_s(void);    /* seconds since the epoch */
/* Milliseconds since the epoch: for times shared through the store (job
 * leases, parked jobs' wake-up times), which another process must read. */
int64_t ul_wall_ms(void);

/* Format epoch seconds as RFC 3339 UTC ("2026-11-24T20:18:21Z") into buf. */
void ul_time_rfc3339(int64_t t, char *buf, size_t len);

/* Parse RFC 3339 UTC or plain epoch seconds; -1 when malformed. */
int64_t ul_time_parse(const char *s);

/* Sleep ms milliseconds (restarted on EINTR). */
void ul_sleep_ms(int64_t ms);

#endif
