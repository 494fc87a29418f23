/* datetime.c — DicomEdit's date/time shifting (docs/dicomedit.md 1.8):
 * parse a DA/DT value, fill the missing parts with midpoints, add the
 * increment, and print the result to the input's own precision; fractional
 * seconds and the UTC offset are copied through. */
#include "anon/datetime.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>

static bool leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(long y, int m)
{
    static const int D[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : D[m - 1];
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, int *m, int *d)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int anon_shift_datetime(const char *in, long long seconds, char *out, size_t cap)
{
    /* YYYY[MM[DD[HH[MM[SS[.F{1-6}]]]]]][+-HHMM] */
    int parts[6] = {0, 0, 0, 0, 0, 0}, given = 0;
    static const int width[6] = {4, 2, 2, 2, 2, 2};
    const char *p = in;
    while (given < 6 && digits(p, width[given], &parts[given])) {
        p += width[given];
        given++;
    }
    if (given == 0)
        return -1;
    const char *frac = "", *tz = "";
    char fracbuf[8] = "", tzbuf[8] = "";
    if (*p == '.' && given == 6) {
        size_t n = strspn(p + 1, "0123456789");
        if (n < 1 || n > 6)
            return -1;
        snprintf(fracbuf, sizeof fracbuf, "%.*s", (int)n + 1, p);
        frac = fracbuf;
        p += n + 1;
    }
    if (*p == '+' || *p == '-') {
        if (strlen(p) != 5 || strspn(p + 1, "0123456789") != 4)
            return -1;
        snprintf(tzbuf, sizeof tzbuf, "%s", p);
        tz = tzbuf;
        p += 5;
    }
    if (*p)
        return -1;
    long year = parts[0];
    int month = given > 1 ? parts[1] : 7;
    if (month < 1 || month > 12)
        return -1;
    int mdays = month_days(year, month);
    int day = given > 2 ? parts[2] : (given > 1 ? mdays / 2 + 1 : 1);
    if (day < 1 || day > mdays)
        return -1;
    int hour = given > 3 ? parts[3] : (given > 2 ? 12 : (given > 1 && mdays % 2 ? 12 : 0));
    int minute = given > 4 ? parts[4] : (given > 3 ? 30 : 0);
    int second = given > 5 ? parts[5] : (given > 4 ? 30 : 0);
    if (hour > 23 || minute > 59 || second > 60)
        return -1;
    long long t = (long long)days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
    t += seconds;
    long long days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    long long rem = t - days * 86400;
    civil_from_days((long)days, &year, &month, &day);
    if (year < 0 || year > 9999)
        return -1;
    int v[6] = {(int)year, month, day, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60)};
    char buf[32];
    size_t o = (size_t)snprintf(buf, sizeof buf, "%04d", v[0]);
    for (int i = 1; i < given; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%02d", v[i]);
    int n = snprintf(out, cap, "%s%s%s", buf, frac, tz);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int anon_unit_seconds(const char *unit, long long *out)
{
    static const struct { const char *name; long long s; } U[] = {
        {"years", 365LL * 86400}, {"days", 86400}, {"hours", 3600}, {"minutes", 60}, {"seconds", 1}};
    for (size_t i = 0; i < sizeof U / sizeof U[0]; i++)
        if (strcasecmp(unit, U[i].name) == 0) {
            *out = U[i].s;
            return 0;
        }
    return -1;
}

long anon_days_between(const char *from_da, const char *to_da)
{
    int y1, m1, d1, y2, m2, d2;
    if (strlen(from_da) < 8 || strlen(to_da) < 8 || !digits(from_da, 4, &y1) || !digits(from_da + 4, 2, &m1) ||
        !digits(from_da + 6, 2, &d1) || !digits(to_da, 4, &y2) || !digits(to_da + 4, 2, &m2) ||
        !digits(to_da + 6, 2, &d2) || m1 < 1 || m1 > 12 || m2 < 1 || m2 > 12)
        return LONG_MIN_DAYS;
    return days_from_civil(y2, m2, d2) - days_from_civil(y1, m1, d1);
}
