/* catalog_query.h — the archive's study / series / instance attributes as
 * the query servers on the archive answer them (QIDO-RS in qido_rs.c, and
 * C-FIND for the DIMSE SCP): one table of attributes mapped to the catalog
 * (archive_instances, migration 13), the matching of PS3.4 C.2.2.2 (single
 * value, wildcards * and ?, ranges of dates and times, lists of UIDs) turned
 * into SQL, and the rows of one level.
 *
 * Every value comes from the index of de-identified instances: what the
 * scripts left, never an original. The caller decides which projects the
 * asker may read; a query never sees any other project. */
#ifndef DQR_GW_ARCHIVE_CATALOG_QUERY_H
#define DQR_GW_ARCHIVE_CATALOG_QUERY_H

#include "dicom/dicom.h"
#include "gateway/internal.h"

/* PATIENT: C-FIND's Patient Root only (one row per project and PatientID). */
typedef enum gw_cq_level { GW_CQ_PATIENT, GW_CQ_STUDY, GW_CQ_SERIES, GW_CQ_INSTANCE } gw_cq_level;

/* One attribute the archive can answer. */
typedef struct gw_cq_attr {
    const char *keyword;
    uint32_t tag;
    const char *vr;        /* two letters */
    gw_cq_level level;     /* the level it belongs to */
    const char *column;    /* its archive_instances column; NULL: computed (counts, modalities) */
    bool standard;         /* returned without includefield (PS3.18 tables 10.6.3-3 to -5) */
} gw_cq_attr;

enum { GW_CQ_MAX_MATCH = 32 };

/* A matching key: attr matched against value (as sent: "DOE*",
 * "20200101-20201231", "1.2.3\1.2.4" or "1.2.3,1.2.4"). */
typedef struct gw_cq_match {
    const gw_cq_attr *attr;
    const char *value;
} gw_cq_match;

typedef struct gw_cq {
    gw_cq_level level;
    const char *project;       /* one project; NULL: every project the asker may read */
    int64_t user;              /* the asker (its project grants apply) ... */
    bool admin;                /* ... unless an administrator: every project */
    int64_t client, dest;      /* non-zero: a DICOM client asks (scp.c) and, for a C-MOVE, a destination
                                * receives: the projects of both, in place of user's grants */
    const char *study, *series, *instance; /* scope: the nested path's UIDs, or NULL */
    gw_cq_match match[GW_CQ_MAX_MATCH];
    size_t nmatch;
    int64_t limit, offset;     /* limit 0: no limit */
    const uint32_t *want;      /* only these attributes' values are read (the others NULL); NULL: all */
    size_t nwant;
} gw_cq;

/* One result row: its project and the value of each attribute of the table
 * (indexed as gw_cq_attrs gives them; NULL when empty or of a deeper level).
 * path: the archive file (relative to data_dir) at instance level, else
 * NULL; bytes: its size as archived (the catalog's), else -1. */
typedef struct gw_cq_row {
    const char *project, *path;
    int64_t bytes;
    const char *const *value;
} gw_cq_row;
/* Return non-zero to stop. */
typedef int (*gw_cq_row_fn)(void *ctx, const gw_cq_row *row);

/* The attribute table and its length. */
const gw_cq_attr *gw_cq_attrs(size_t *n);
/* The attribute of tag, or NULL when the archive does not know it. */
const gw_cq_attr *gw_cq_attr_of(uint32_t tag);

/* Whether a catalog value (UTF-8, or NULL) is plain ASCII: an answer
 * holding one that is not says ISO_IR 192. */
bool gw_cq_ascii(const char *v);
/* Run q: fn once per row, ordered by study date, then UIDs. DQR_E_USAGE
 * for a malformed key (a range on a non-date, a bad UID list), the
 * catalog's error otherwise. Thread-safe. */
dqr_status gw_cq_run(gw *g, const gw_cq *q, gw_cq_row_fn fn, void *ctx, dqr_error *err);

#endif
