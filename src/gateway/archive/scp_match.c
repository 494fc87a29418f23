/* scp_match.c — C-FIND matching (PS3.4 C.2.2.2) of an identifier against
 * one candidate's attributes, read from the de-identified file that stands
 * for it: universal (empty or "*"), single value, wildcard (* and ?), list
 * of UIDs, and range (DA, TM, DT). Person names compare without regard to
 * case, as most archives do; a multi-valued attribute matches when one of
 * its values does. Sequence matching is not offered: a sequence key
 * matches universally and is returned empty. */
#include "gateway/archive/scp.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An element's whole value as text (all its values, backslash-separated),
 * padding cut. */
static char *value_text(const dcm_element *k, char *buf, size_t cap)
{
    const uint8_t *b = dcm_element_bytes(k);
    size_t n = b ? (size_t)dcm_element_length(k) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, b ? (const char *)b : "", n);
    while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
        n--;
    buf[n] = '\0';
    while (*buf == ' ' && dcm_element_vr(k) != DCM_VR_UI) /* leading spaces are not significant either */
        memmove(buf, buf + 1, strlen(buf));
    return buf;
}

static bool eq(char a, char b, bool fold) { return fold ? tolower((unsigned char)a) == tolower((unsigned char)b) : a == b; }

/* pattern with * and ? against the n bytes of s. */
static bool wild(const char *p, const char *s, size_t n, bool fold)
{
    if (!*p)
        return n == 0;
    if (*p == '*') {
        for (size_t i = 0; i <= n; i++)
            if (wild(p + 1, s + i, n - i, fold))
                return true;
        return false;
    }
    return n && (*p == '?' || eq(*p, *s, fold)) && wild(p + 1, s + 1, n - 1, fold);
}

static bool is_range_vr(dcm_vr vr) { return vr == DCM_VR_DA || vr == DCM_VR_TM || vr == DCM_VR_DT; }

/* One key value (no backslash) against one value of the candidate. */
static bool one_matches(const char *key, size_t klen, const char *v, size_t vn, dcm_vr vr)
{
    char k[256];
    snprintf(k, sizeof k, "%.*s", (int)klen, key);
    while (vn && v[vn - 1] == ' ')
        vn--;
    while (vn && *v == ' ')
        v++, vn--;
    const char *dash = is_range_vr(vr) ? strchr(k, '-') : NULL;
    if (dash) { /* lexical order is time order for DA, TM and DT */
        size_t lo = (size_t)(dash - k), hi = strlen(dash + 1);
        char val[64];
        snprintf(val, sizeof val, "%.*s", (int)vn, v);
        return vn && (!lo || strncmp(val, k, lo) >= 0) && (!hi || strncmp(val, dash + 1, hi) <= 0);
    }
    bool fold = vr == DCM_VR_PN;
    if (vr != DCM_VR_UI && strpbrk(k, "*?"))
        return wild(k, v, vn, fold);
    if (strlen(k) != vn)
        return false;
    for (size_t i = 0; i < vn; i++)
        if (!eq(k[i], v[i], fold))
            return false;
    return true;
}

bool gw_scp_key_matches(const dcm_element *k, const dcm_dataset *have)
{
    char key[1024], val[1024];
    uint32_t tag = dcm_element_tag(k);
    if (tag == DCM_TAG(0x0008, 0x0052) || tag == DCM_TAG_SPECIFIC_CHARSET || dcm_element_is_sequence(k))
        return true;
    value_text(k, key, sizeof key);
    if (!*key || strcmp(key, "*") == 0)
        return true;
    const dcm_element *h = dcm_dataset_get(have, tag);
    if (!h || dcm_element_is_sequence(h))
        return false;
    value_text(h, val, sizeof val);
    dcm_vr vr = dcm_element_vr(k);
    /* a list of key values (UID list matching, PS3.4 C.2.2.2.2) against
     * each of the candidate's values */
    for (const char *kp = key; *kp;) {
        size_t kl = strcspn(kp, "\\");
        for (const char *vp = val;;) {
            size_t vl = strcspn(vp, "\\");
            if (one_matches(kp, kl, vp, vl, vr))
                return true;
            if (!vp[vl])
                break;
            vp += vl + 1;
        }
        kp += kl + (kp[kl] ? 1 : 0);
    }
    return false;
}

bool gw_scp_matches(const dcm_dataset *identifier, const dcm_dataset *have)
{
    for (size_t i = 0; i < dcm_dataset_count(identifier); i++)
        if (!gw_scp_key_matches(dcm_dataset_at(identifier, i), have))
            return false;
    return true;
}

dcm_dataset *gw_scp_response(const dcm_dataset *identifier, const dcm_dataset *have)
{
    dcm_dataset *out = dcm_dataset_new();
    bool ok = out != NULL;
    const dcm_element *cs = dcm_dataset_get(have, DCM_TAG_SPECIFIC_CHARSET);
    if (ok && cs && dcm_element_bytes(cs))
        ok = dcm_dataset_set_bytes(out, DCM_TAG_SPECIFIC_CHARSET, DCM_VR_CS, dcm_element_bytes(cs),
                                   (size_t)dcm_element_length(cs), NULL) != NULL;
    for (size_t i = 0; ok && i < dcm_dataset_count(identifier); i++) {
        const dcm_element *k = dcm_dataset_at(identifier, i);
        uint32_t tag = dcm_element_tag(k);
        if (tag == DCM_TAG_SPECIFIC_CHARSET)
            continue;
        const dcm_element *h = tag == DCM_TAG(0x0008, 0x0052) ? k : dcm_dataset_get(have, tag);
        if (dcm_element_is_sequence(k) || (h && dcm_element_is_sequence(h)))
            ok = dcm_dataset_set_sequence(out, tag, NULL) != NULL;
        else if (h && dcm_element_bytes(h))
            ok = dcm_dataset_set_bytes(out, tag, dcm_element_vr(h), dcm_element_bytes(h),
                                       (size_t)dcm_element_length(h), NULL) != NULL;
        else
            ok = dcm_dataset_set_bytes(out, tag, dcm_element_vr(k), "", 0, NULL) != NULL;
    }
    if (!ok) {
        dcm_dataset_free(out);
        return NULL;
    }
    return out;
}
