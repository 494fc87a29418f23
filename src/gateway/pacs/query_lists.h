/* query_lists.h — many exact searches asked as a few (query_batch.c, for
 * the CSV import's rows). Queries whose keys are all single plain values
 * of the same list keys (AccessionNumber, PatientID, StudyDate,
 * PatientBirthDate) are combined, up to GW_QUERY_LIST_ROWS at a time, into
 * one query with each attribute's values as a DICOM list ("A\B\C"); each
 * answer then goes to the queries whose own values it carries, exactly.
 *
 * The standard asks a PACS to match value lists only for UIDs; Orthanc and
 * others match them for every attribute. So a combined query is only ever
 * a shortcut: a query it leaves without an answer (a PACS that reads the
 * list literally, refuses it, or stops at a result limit) is asked alone
 * afterwards, as it would have been, and an answer is never given to a
 * query whose values it does not carry. Pure: no network. */
#ifndef DQR_GW_QUERY_LISTS_H
#define DQR_GW_QUERY_LISTS_H

#include "gateway/pacs/query.h"

enum {
    GW_QUERY_LIST_ROWS = 100,     /* queries combined into one */
    GW_QUERY_LIST_ANSWERS = 1000, /* answers a combined query may have; more and its queries are asked alone */
};

typedef struct gw_query_list {
    gw_query_job job;                   /* the combined query: job.keys owned (gw_query_lists_free) */
    size_t members[GW_QUERY_LIST_ROWS]; /* the indices, in the caller's jobs, of the queries it stands for */
    size_t n;
} gw_query_list;

/* The combined queries for the n jobs (only groups of two or more; a job
 * that is in none is to be asked alone). NULL with *count 0 when none, or
 * out of memory. Free with gw_query_lists_free. */
gw_query_list *gw_query_lists(const gw_query_job *jobs, size_t n, size_t *count);

/* After l->job was asked: each member of l in jobs gets, as its own
 * answer, the answers that carry its values (copies, in the PACS's order),
 * when there is at least one and at most max. Members left without an
 * answer (result.results still NULL) are to be asked alone; so are all of
 * them when the combined query failed or was cut short. */
void gw_query_lists_share(gw_query_list *l, gw_query_job *jobs, size_t max);

void gw_query_lists_free(gw_query_list *lists, size_t count);

#endif
