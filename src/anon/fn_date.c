/* fn_date.c — shiftDateByIncrement, shiftDateTimeByIncrement,
 * shiftDateTimeSequenceByIncrement, shiftDateTimeListByIncrement,
 * scalePatientAgeAndDobFromStudyDate. */
#include "anon/datetime.h"
#include "anon/interp.h"
#include "anon/valuemap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static dqr_status increment(anon_session *s, const char *fn, expr *const *args, size_t n, size_t i,
                            const char *unit_default, long long *seconds)
{
    const char *inc, *unit = unit_default;
    dqr_status st = arg_string(s, args, n, i, &inc);
    if (st || (i + 1 < n && (st = arg_string(s, args, n, i + 1, &unit))))
        return st;
    char *end;
    errno = 0;
    long long k = inc ? strtoll(inc, &end, 10) : 0;
    if (!inc || end == inc || *end || errno)
        return rt_error(s, "%s: the increment must be an integer", fn);
    long long per;
    if (!unit || anon_unit_seconds(unit, &per))
        return rt_error(s, "%s: unknown unit \"%s\" (years, days, hours, minutes, seconds)", fn,
                        unit ? unit : "null");
    /* beyond 10,000 years no date survives the shift: refuse rather than overflow */
    if (__builtin_mul_overflow(k, per, seconds) || *seconds > 400000000000LL || *seconds < -400000000000LL)
        return rt_error(s, "%s: increment %s %s is out of range", fn, inc, unit);
    return DQR_OK;
}

/* The value to shift: a singular tag path of one of the VRs allowed, or a string. */
static dqr_status shift_source(anon_session *s, const char *fn, const expr *a, bool dt_ok, const char **v)
{
    if (a->kind == X_PATH) {
        if (!tp_singular(a->path))
            return rt_error(s, "%s: the tag path must name one attribute", fn);
        const dcm_element *el = tp_find(a->path, s->root, NULL);
        if (el && dcm_element_vr(el) != DCM_VR_DA && !(dt_ok && dcm_element_vr(el) == DCM_VR_DT))
            return rt_error(s, "%s: the attribute has VR %s, not DA%s", fn, dcm_vr_str(dcm_element_vr(el)),
                            dt_ok ? " or DT" : "");
        return read_path(s, a->path, v);
    }
    aval x;
    dqr_status st = eval(s, a, &x);
    return st ? st : value_string(s, &x, v);
}

static dqr_status shift_one(anon_session *s, const char *fn, expr *const *args, size_t n, aval *out,
                            bool dt_ok, const char *unit_default)
{
    const char *v;
    long long secs;
    dqr_status st = need_args(s, fn, n, 2, 3);
    if (st || (st = shift_source(s, fn, args[0], dt_ok, &v)) ||
        (st = increment(s, fn, args, n, 1, unit_default, &secs)))
        return st;
    if (!v) /* the reference's shifter fails on a null value */
        return rt_error(s, "%s: the value to shift is missing", fn);
    char buf[40];
    if (anon_shift_datetime(v, secs, buf, sizeof buf))
        return rt_error(s, "%s: \"%s\" is not a valid date%s", fn, v, dt_ok ? " or date-time" : "");
    *out = val_str(s, buf);
    return DQR_OK;
}

static dqr_status fn_shift_date(anon_session *s, expr *const *a, size_t n, aval *o)
{
    return shift_one(s, "shiftDateByIncrement", a, n, o, false, "days");
}

static dqr_status fn_shift_datetime(anon_session *s, expr *const *a, size_t n, aval *o)
{
    return shift_one(s, "shiftDateTimeByIncrement", a, n, o, true, "seconds");
}

/* In place: every DA/DT match of a path, each value shifted; empty values stay. */
typedef struct shift_job {
    anon_session *s;
    long long seconds;
    dqr_status st;
} shift_job;

static int shift_value(void *ctx, const char *value, char out[ANON_VALUE_MAX])
{
    return anon_shift_datetime(value, ((shift_job *)ctx)->seconds, out, ANON_VALUE_MAX);
}

static int shift_match(void *ctx, dcm_dataset *ds, dcm_element *el)
{
    shift_job *j = ctx;
    dcm_vr vr = dcm_element_vr(el);
    if (vr != DCM_VR_DA && vr != DCM_VR_DT)
        return 0;
    char *text = dcm_element_text(el, NULL);
    if (!text || !*text) {
        free(text);
        return 0;
    }
    const char *refused;
    char *out = anon_map_values(text, shift_value, j, &refused);
    if (out)
        j->st = set_element_text(j->s, ds, dcm_element_tag(el), vr, out);
    else if (refused)
        j->st = rt_error(j->s, "\"%s\" is not a valid date or date-time", refused);
    else
        j->st = dqr_error_set(j->s->err, DQR_E_NOMEM, "out of memory");
    free(out);
    free(text);
    return j->st != DQR_OK;
}

static dqr_status shift_path(anon_session *s, const tagpath *p, void *ctx)
{
    shift_job *job = ctx;
    tp_walk(p, s->root, shift_match, job);
    return job->st;
}

static dqr_status fn_shift_sequence(anon_session *s, expr *const *args, size_t n, aval *out)
{
    shift_job job = {s, 0, DQR_OK};
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "shiftDateTimeSequenceByIncrement", n, 2, 64);
    if (st || (st = increment(s, "shiftDateTimeSequenceByIncrement", args, 1, 0, "seconds", &job.seconds)))
        return st;
    for (size_t i = 1; i < n; i++) {
        aval v;
        if ((st = eval(s, args[i], &v)) || (st = for_each_path(s, &v, shift_path, &job)))
            return st;
    }
    return DQR_OK;
}

static dqr_status fn_shift_list(anon_session *s, expr *const *args, size_t n, aval *out)
{
    shift_job job = {s, 0, DQR_OK};
    aval list;
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "shiftDateTimeListByIncrement", n, 3, 3);
    if (st || (st = increment(s, "shiftDateTimeListByIncrement", args, n, 1, "seconds", &job.seconds)) ||
        (st = eval_arg(s, args[0], &list)))
        return st;
    return for_each_path(s, &list, shift_path, &job);
}

/* ---- scalePatientAgeAndDobFromStudyDate --------------------------------- */

#define MAX_SPAN_DAYS 32506L /* round(365.24 * 89) */

typedef struct scale_job {
    anon_session *s;
    long excess;
    dqr_status st;
} scale_job;

static void each_element(anon_session *s, dcm_dataset *ds, uint32_t tag,
                         int (*fn)(void *, dcm_dataset *, dcm_element *), void *ctx)
{
    for (size_t i = 0; i < dcm_dataset_count(ds); i++) {
        dcm_element *el = dcm_dataset_at(ds, i);
        if (dcm_element_tag(el) == tag && fn(ctx, ds, el))
            return;
        for (size_t k = 0; k < dcm_element_item_count(el); k++)
            each_element(s, dcm_element_item(el, k), tag, fn, ctx);
    }
}

static int shift_dob(void *ctx, dcm_dataset *ds, dcm_element *el)
{
    scale_job *j = ctx;
    char *dob = dcm_element_text(el, NULL);
    char buf[40];
    if (dob && *dob && anon_shift_datetime(dob, (long long)j->excess * 86400, buf, sizeof buf) == 0)
        j->st = set_element_text(j->s, ds, dcm_element_tag(el), dcm_element_vr(el), buf);
    free(dob);
    return j->st != DQR_OK;
}

static int cap_age(void *ctx, dcm_dataset *ds, dcm_element *el)
{
    scale_job *j = ctx;
    char *age = dcm_element_text(el, NULL);
    if (age && strlen(age) == 4 && age[3] == 'Y' && atoi(age) > 89)
        j->st = set_element_text(j->s, ds, dcm_element_tag(el), dcm_element_vr(el), "089Y");
    free(age);
    return j->st != DQR_OK;
}

static dqr_status fn_scale_age(anon_session *s, expr *const *args, size_t n, aval *out)
{
    (void)args;
    *out = (aval){.kind = V_VOID};
    dqr_status st = need_args(s, "scalePatientAgeAndDobFromStudyDate", n, 0, 0);
    const char *dob, *study;
    char buf[32];
    if (st)
        return st;
    dob = dcm_dataset_get_string(s->root, DCM_TAG(0x0010, 0x0030), buf, sizeof buf);
    char sbuf[32];
    study = dcm_dataset_get_string(s->root, DCM_TAG(0x0008, 0x0020), sbuf, sizeof sbuf);
    scale_job job = {s, 0, DQR_OK};
    /* As the reference's ScalePatientAgeAndDobFromStudyDateFunction: a missing
     * or malformed birth date shifts nothing; a birth date without a usable
     * StudyDate leaves the ages alone too (it returns before capping them). */
    bool dob_ok = dob && anon_days_between(dob, dob) != LONG_MIN_DAYS; /* a date it can read */
    long span = dob_ok ? anon_days_between(dob, study ? study : "") : LONG_MIN_DAYS;
    if (dob_ok && span == LONG_MIN_DAYS)
        return DQR_OK;
    if (dob_ok && span > MAX_SPAN_DAYS) {
        job.excess = span - MAX_SPAN_DAYS;
        each_element(s, s->root, DCM_TAG(0x0010, 0x0030), shift_dob, &job);
    }
    if (!job.st)
        each_element(s, s->root, DCM_TAG(0x0010, 0x1010), cap_age, &job);
    return job.st;
}

const fn_entry anon_fn_date[] = {
    {"shiftDateByIncrement", fn_shift_date},
    {"shiftDateTimeByIncrement", fn_shift_datetime},
    {"shiftDateTimeSequenceByIncrement", fn_shift_sequence},
    {"shiftDateTimeListByIncrement", fn_shift_list},
    {"scalePatientAgeAndDobFromStudyDate", fn_scale_age},
    {NULL, NULL},
};
