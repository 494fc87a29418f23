/* dict.c — lookups over the generated dictionary tables. */
#include "dicom/dict.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const dcm_dict_entry GROUP_LENGTH = {
    0, 0x0000FFFFu, {DCM_VR_UL, DCM_VR_NONE, DCM_VR_NONE}, "1", 0,
    "GenericGroupLength", "Generic Group Length"};
static const dcm_dict_entry PRIVATE_CREATOR = {
    0x00010010u, 0, {DCM_VR_LO, DCM_VR_NONE, DCM_VR_NONE}, "1", 0,
    "PrivateCreator", "Private Creator"};

static const dcm_dict_entry *search_exact(uint32_t tag)
{
    size_t lo = 0, hi = dcm_dict_exact_len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t t = dcm_dict_exact[mid].tag;
        if (t == tag)
            return &dcm_dict_exact[mid];
        if (t < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const dcm_dict_entry *dcm_dict_lookup(uint32_t tag)
{
    uint16_t group = DCM_GROUP(tag), elem = DCM_ELEM(tag);
    if (group & 1) {
        if (elem >= 0x0010 && elem <= 0x00FF)
            return &PRIVATE_CREATOR;
        return NULL; /* private data element or illegal group length */
    }
    const dcm_dict_entry *e = search_exact(tag);
    if (e)
        return e;
    if (elem == 0x0000)
        return &GROUP_LENGTH;
    /* Repeating groups: about twenty-five masked patterns, most specific first. */
    for (size_t i = 0; i < dcm_dict_masked_len; i++)
        if ((tag & dcm_dict_masked[i].mask) == dcm_dict_masked[i].tag)
            return &dcm_dict_masked[i];
    return NULL;
}

static int kw_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const dcm_dict_kw *)elem)->keyword);
}

const dcm_dict_entry *dcm_dict_lookup_keyword(const char *kw)
{
    const dcm_dict_kw *k = bsearch(kw, dcm_dict_keywords, dcm_dict_keywords_len,
                                   sizeof *dcm_dict_keywords, kw_cmp);
    if (!k)
        return NULL;
    return k->masked ? &dcm_dict_masked[k->index] : &dcm_dict_exact[k->index];
}

const char *dcm_dict_keyword(uint32_t tag)
{
    const dcm_dict_entry *e = dcm_dict_lookup(tag);
    return e ? e->keyword : "";
}

dcm_vr dcm_dict_vr(uint32_t tag)
{
    const dcm_dict_entry *e = dcm_dict_lookup(tag);
    if (!e || e->vr[0] == DCM_VR_NONE)
        return DCM_VR_UN;
    return e->vr[0];
}

static int parse_hex(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (!isxdigit(c))
            return -1;
        v = (v << 4) | (uint32_t)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10));
    }
    *out = v;
    return 0;
}

int dcm_tag_parse(const char *s, uint32_t *tag)
{
    size_t n = strlen(s);
    uint32_t g, e;
    if (n == 11 && s[0] == '(' && s[10] == ')') {
        s++;
        n = 9;
    }
    if (n == 9 && s[4] == ',' && parse_hex(s, 4, &g) == 0 && parse_hex(s + 5, 4, &e) == 0) {
        *tag = DCM_TAG(g, e);
        return 0;
    }
    if (n == 8 && parse_hex(s, 8, &g) == 0) {
        *tag = g;
        return 0;
    }
    const dcm_dict_entry *d = dcm_dict_lookup_keyword(s);
    if (!d)
        return -1;
    *tag = d->tag;
    return 0;
}

/* UIDs in a dataset may carry a trailing NUL or space pad; compare without it. */
static int uid_cmp(const void *key, const void *elem)
{
    const char *a = key, *b = ((const dcm_uid_entry *)elem)->uid;
    size_t n = strlen(a);
    while (n && (a[n - 1] == '\0' || a[n - 1] == ' '))
        n--;
    int c = strncmp(a, b, n);
    if (c)
        return c;
    return b[n] ? -1 : 0;
}

const dcm_uid_entry *dcm_ts_lookup(const char *uid)
{
    return bsearch(uid, dcm_transfer_syntaxes, dcm_transfer_syntaxes_len,
                   sizeof *dcm_transfer_syntaxes, uid_cmp);
}

const dcm_uid_entry *dcm_sop_class_lookup(const char *uid)
{
    return bsearch(uid, dcm_sop_classes, dcm_sop_classes_len, sizeof *dcm_sop_classes, uid_cmp);
}
