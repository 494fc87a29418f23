/* tz.c — a minimal TZif (RFC 8536) reader: transitions and offsets. */
#include "gateway/pacs/tz.h"
#include "gateway/pacs/schedule.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The offset at t from one data block (4- or 8-byte times). */
static bool block_offset(const uint8_t *d, size_t len, int tsize, time_t t, long *offset)
{
    if (len < 44)
        return false;
    uint32_t isut = be32(d + 20), isstd = be32(d + 24), leap = be32(d + 28), n = be32(d + 32), types = be32(d + 36),
             chars = be32(d + 40);
    size_t need = 44 + (size_t)n * (size_t)tsize + n + (size_t)types * 6 + chars + (size_t)leap * (size_t)(tsize + 4) +
                  isstd + isut;
    if (types == 0 || need > len)
        return false;
    const uint8_t *times = d + 44, *idx = times + (size_t)n * (size_t)tsize, *info = idx + n;
    size_t k = 0; /* type before the first transition: the first one */
    bool found = false;
    for (uint32_t i = 0; i < n; i++) {
        int64_t when = tsize == 8 ? be64(times + (size_t)i * 8) : (int32_t)be32(times + (size_t)i * 4);
        if (when > (int64_t)t)
            break;
        k = idx[i], found = true;
    }
    if (!found)
        k = 0;
    if (k >= types)
        return false;
    *offset = (long)(int32_t)be32(info + k * 6);
    return true;
}

bool gw_tz_offset(const char *tz, time_t t, long *offset)
{
    if (strcmp(tz, "UTC") == 0) {
        *offset = 0;
        return true;
    }
    if (!gw_timezone_valid(tz))
        return false;
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
    FILE *f = fopen(path, "rbe");
    if (!f)
        return false;
    uint8_t *d = malloc(1 << 17);
    size_t len = d ? fread(d, 1, 1 << 17, f) : 0;
    fclose(f);
    bool ok = false;
    if (len >= 44 && memcmp(d, "TZif", 4) == 0) {
        if (d[4] >= '2') { /* skip the 32-bit block to the 64-bit one */
            uint32_t isut = be32(d + 20), isstd = be32(d + 24), leap = be32(d + 28), n = be32(d + 32),
                     types = be32(d + 36), chars = be32(d + 40);
            size_t v1 = 44 + (size_t)n * 5 + (size_t)types * 6 + chars + (size_t)leap * 8 + isstd + isut;
            ok = v1 < len && block_offset(d + v1, len - v1, 8, t, offset);
        }
        if (!ok)
            ok = block_offset(d, len, 4, t, offset);
    }
    free(d);
    return ok;
}

bool gw_tz_local(const char *tz, time_t t, int *weekday, int *minute)
{
    long off;
    if (!gw_tz_offset(tz, t, &off))
        return false;
    time_t local = t + off;
    struct tm tm;
    gmtime_r(&local, &tm);
    *weekday = (tm.tm_wday + 6) % 7;
    *minute = tm.tm_hour * 60 + tm.tm_min;
    return true;
}
