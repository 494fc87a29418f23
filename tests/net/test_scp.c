/* test_scp.c — the Query/Retrieve SCP of the net layer (scp_*.c) against
 * dqr's own SCU: C-FIND streams every match and then Success, a C-CANCEL
 * ends it with Cancel; C-GET sends the files back on the same association
 * with the counts; C-MOVE opens an association to the destination whose
 * C-STOREs carry the Move Originator AE and Message ID, and a C-CANCEL
 * stops its sub-operations; a model without a callback is not accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"

#define NFILES 3
#define CT "1.2.840.10008.5.1.4.1.1.2"

typedef struct fixture {
    char dir[64], paths[NFILES][128];
    int dest_port;
    int copies;                 /* on_retrieve names each file this many times (default 1) */
    int store_delay_us;         /* the destination's time per instance */
    bool refuse_second;         /* the destination refuses 1.2.3.4.2 (out of resources) */
    int stored;                 /* instances the destination received */
    char move_aet[17];
    int move_msgid;
    pthread_mutex_t lock;
} fixture;

static void make_file(const char *path, int i)
{
    dcm_dataset *ds = dcm_dataset_new();
    char uid[64];
    snprintf(uid, sizeof uid, "1.2.3.4.%d", i + 1);
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0016), DCM_VR_UI, CT, NULL);
    dcm_dataset_set_string(ds, DCM_TAG(0x0008, 0x0018), DCM_VR_UI, uid, NULL);
    dcm_dataset_set_string(ds, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, "1.2.3", NULL);
    dcm_file *f = dcm_file_wrap(NULL, ds, DCM_TS_EXPLICIT_LE, NULL);
    assert_non_null(f);
    assert_int_equal(dcm_file_write(f, path, NULL, NULL), DQR_OK);
    dcm_file_close(f);
}

/* Three matches, each with its index in PatientID. */
static uint16_t on_find(void *ctx, const net_qr_request *q, net_emit_fn emit, void *ectx)
{
    (void)ctx;
    assert_string_equal(q->calling_aet, "SCU");
    for (int i = 0; i < NFILES; i++) {
        dcm_dataset *m = dcm_dataset_new();
        char id[8];
        snprintf(id, sizeof id, "P%d", i);
        dcm_dataset_set_string(m, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, id, NULL);
        int stop = emit(ectx, m);
        dcm_dataset_free(m);
        usleep(50000); /* time for a C-CANCEL to arrive before the next match */
        if (stop)
            break;
    }
    return 0x0000;
}

static uint16_t on_retrieve(void *ctx, const net_qr_request *q, net_retrieve *out)
{
    fixture *fx = ctx;
    if (*q->move_dest && strcmp(q->move_dest, "DEST") != 0)
        return 0xA801;
    for (int k = 0; k < (fx->copies ? fx->copies : 1); k++)
        for (int i = 0; i < NFILES; i++)
            assert_true(net_retrieve_add(out, fx->paths[i]));
    snprintf(out->host, sizeof out->host, "127.0.0.1");
    out->port = fx->dest_port;
    return 0;
}

static uint16_t on_store(void *ctx, const net_received *r)
{
    fixture *fx = ctx;
    pthread_mutex_lock(&fx->lock);
    fx->stored++;
    snprintf(fx->move_aet, sizeof fx->move_aet, "%s", r->move_aet);
    fx->move_msgid = r->move_msgid;
    int delay = fx->store_delay_us;
    bool refuse = fx->refuse_second && strcmp(r->sop_instance, "1.2.3.4.2") == 0;
    pthread_mutex_unlock(&fx->lock);
    if (delay)
        usleep((useconds_t)delay);
    return refuse ? 0xA700 : 0;
}

static void *run(void *s)
{
    net_server_run(s, NULL);
    return NULL;
}

typedef struct servers {
    fixture fx;
    net_server *scp, *dest;
    pthread_t t1, t2;
} servers;

static int setup(void **state)
{
    servers *sv = calloc(1, sizeof *sv);
    pthread_mutex_init(&sv->fx.lock, NULL);
    snprintf(sv->fx.dir, sizeof sv->fx.dir, "/tmp/dqr-test-scp-XXXXXX");
    assert_non_null(mkdtemp(sv->fx.dir));
    for (int i = 0; i < NFILES; i++) {
        snprintf(sv->fx.paths[i], sizeof sv->fx.paths[i], "%s/%d.dcm", sv->fx.dir, i);
        make_file(sv->fx.paths[i], i);
    }
    net_server_config dc = {.aet = "DEST", .port = 0, .spool_memory = true, .on_store = on_store, .ctx = &sv->fx};
    net_server_config sc = {.aet = "ARCHIVE", .port = 0, .on_find = on_find, .on_retrieve = on_retrieve,
                            .ctx = &sv->fx};
    sv->dest = net_server_new(&dc, NULL);
    sv->scp = net_server_new(&sc, NULL);
    assert_non_null(sv->dest);
    assert_non_null(sv->scp);
    sv->fx.dest_port = net_server_port(sv->dest);
    pthread_create(&sv->t1, NULL, run, sv->dest);
    pthread_create(&sv->t2, NULL, run, sv->scp);
    *state = sv;
    return 0;
}

static int teardown(void **state)
{
    servers *sv = *state;
    net_server_stop(sv->scp);
    net_server_stop(sv->dest);
    pthread_join(sv->t1, NULL);
    pthread_join(sv->t2, NULL);
    net_server_free(sv->scp);
    net_server_free(sv->dest);
    for (int i = 0; i < NFILES; i++)
        unlink(sv->fx.paths[i]);
    rmdir(sv->fx.dir);
    free(sv);
    return 0;
}

static net_assoc *connect_to(servers *sv, const char *abstract, bool storage)
{
    static const char *const TS[] = {DCM_TS_EXPLICIT_LE, DCM_TS_IMPLICIT_LE, NULL};
    net_params p = {0};
    snprintf(p.calling_aet, sizeof p.calling_aet, "SCU");
    snprintf(p.called_aet, sizeof p.called_aet, "ARCHIVE");
    net_params_add(&p, abstract, TS);
    if (storage)
        net_params_add_storage(&p);
    dqr_error err = {0};
    net_assoc *a = net_connect("127.0.0.1", net_server_port(sv->scp), &p, &err);
    assert_non_null(a);
    return a;
}

typedef struct seen {
    int n, stop_after;
    char last[16];
} seen;

static int on_match(void *ctx, const dcm_dataset *id)
{
    seen *s = ctx;
    dcm_dataset_get_string(id, DCM_TAG(0x0010, 0x0020), s->last, sizeof s->last);
    return ++s->n == s->stop_after;
}

static dcm_dataset *query(const char *level)
{
    dcm_dataset *q = dcm_dataset_new();
    dcm_dataset_set_string(q, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, level, NULL);
    dcm_dataset_set_string(q, DCM_TAG(0x0010, 0x0020), DCM_VR_LO, "", NULL);
    return q;
}

static void test_find_streams_all(void **state)
{
    net_assoc *a = connect_to(*state, NET_STUDY_ROOT_FIND, false);
    dcm_dataset *q = query("STUDY");
    seen s = {0};
    uint16_t status = 0xFFFF;
    dqr_error err = {0};
    assert_int_equal(net_find(a, NET_STUDY_ROOT_FIND, q, on_match, &s, &status, &err), DQR_OK);
    assert_int_equal(s.n, NFILES);
    assert_string_equal(s.last, "P2");
    assert_int_equal(status, 0x0000);
    dcm_dataset_free(q);
    net_release(a, NULL);
    net_assoc_free(a);
}

static void test_find_cancel(void **state)
{
    net_assoc *a = connect_to(*state, NET_PATIENT_ROOT_FIND, false);
    dcm_dataset *q = query("PATIENT");
    seen s = {.stop_after = 1};
    uint16_t status = 0xFFFF;
    dqr_error err = {0};
    assert_int_equal(net_find(a, NET_PATIENT_ROOT_FIND, q, on_match, &s, &status, &err), DQR_OK);
    /* the matches already on their way may still arrive, but it ends Cancel */
    assert_int_equal(status, 0xFE00);
    dcm_dataset_free(q);
    net_release(a, NULL);
    net_assoc_free(a);
}

typedef struct got {
    int n;
    bool ct;
} got;

static uint16_t on_get_store(void *ctx, const net_received *r)
{
    got *g = ctx;
    g->n++;
    g->ct = strcmp(r->sop_class, CT) == 0;
    return 0;
}

static void test_get(void **state)
{
    net_assoc *a = connect_to(*state, NET_STUDY_ROOT_GET, true);
    dcm_dataset *q = query("STUDY");
    got g = {0};
    net_move_result res = {0};
    dqr_error err = {0};
    assert_int_equal(net_get(a, NET_STUDY_ROOT_GET, q, NULL, on_get_store, &g, &res, &err), DQR_OK);
    assert_int_equal(g.n, NFILES);
    assert_true(g.ct);
    assert_int_equal(res.status, 0x0000);
    assert_int_equal(res.completed, NFILES);
    assert_int_equal(res.failed, 0);
    dcm_dataset_free(q);
    net_release(a, NULL);
    net_assoc_free(a);
}

static void test_move(void **state)
{
    servers *sv = *state;
    net_assoc *a = connect_to(sv, NET_STUDY_ROOT_MOVE, false);
    dcm_dataset *q = query("STUDY");
    net_move_result res = {0};
    dqr_error err = {0};
    assert_int_equal(net_move(a, NET_STUDY_ROOT_MOVE, "DEST", q, 42, NULL, NULL, &res, &err), DQR_OK);
    assert_int_equal(res.status, 0x0000);
    assert_int_equal(res.completed, NFILES);
    pthread_mutex_lock(&sv->fx.lock);
    assert_int_equal(sv->fx.stored, NFILES);
    assert_string_equal(sv->fx.move_aet, "SCU");
    assert_int_equal(sv->fx.move_msgid, 42);
    pthread_mutex_unlock(&sv->fx.lock);
    assert_int_equal(net_move(a, NET_STUDY_ROOT_MOVE, "NOWHERE", q, 43, NULL, NULL, &res, &err), DQR_OK);
    assert_int_equal(res.status, 0xA801);
    dcm_dataset_free(q);
    net_release(a, NULL);
    net_assoc_free(a);
}

static int cancel_at_once(void *ctx, const net_move_result *r)
{
    (void)ctx, (void)r;
    return 1;
}

/* A C-CANCEL after the first pending response stops the sub-operations:
 * Cancel, with some remaining, and fewer stored than asked. */
static void test_move_cancel(void **state)
{
    servers *sv = *state;
    pthread_mutex_lock(&sv->fx.lock);
    sv->fx.copies = 20, sv->fx.store_delay_us = 20000, sv->fx.stored = 0;
    pthread_mutex_unlock(&sv->fx.lock);
    net_assoc *a = connect_to(sv, NET_STUDY_ROOT_MOVE, false);
    dcm_dataset *q = query("STUDY");
    net_move_result res = {0};
    dqr_error err = {0};
    assert_int_equal(net_move(a, NET_STUDY_ROOT_MOVE, "DEST", q, 7, cancel_at_once, NULL, &res, &err), DQR_OK);
    assert_int_equal(res.status, 0xFE00);
    assert_true(res.remaining > 0);
    assert_true(res.completed < 20 * NFILES);
    pthread_mutex_lock(&sv->fx.lock);
    assert_int_equal(sv->fx.stored, res.completed);
    sv->fx.copies = 0, sv->fx.store_delay_us = 0;
    pthread_mutex_unlock(&sv->fx.lock);
    dcm_dataset_free(q);
    net_release(a, NULL);
    net_assoc_free(a);
}

/* A sub-operation the destination refuses is counted failed, the others
 * go on, and the final status is the warning 0xB000. */
static void test_move_partial(void **state)
{
    servers *sv = *state;
    pthread_mutex_lock(&sv->fx.lock);
    sv->fx.refuse_second = true;
    pthread_mutex_unlock(&sv->fx.lock);
    net_assoc *a = connect_to(sv, NET_STUDY_ROOT_MOVE, false);
    dcm_dataset *q = query("STUDY");
    net_move_result res = {0};
    dqr_error err = {0};
    assert_int_equal(net_move(a, NET_STUDY_ROOT_MOVE, "DEST", q, 8, NULL, NULL, &res, &err), DQR_OK);
    assert_int_equal(res.status, 0xB000);
    assert_int_equal(res.completed, NFILES - 1);
    assert_int_equal(res.failed, 1);
    pthread_mutex_lock(&sv->fx.lock);
    sv->fx.refuse_second = false;
    pthread_mutex_unlock(&sv->fx.lock);
    dcm_dataset_free(q);
    net_release(a, NULL);
    net_assoc_free(a);
}

/* A server without on_find does not accept the FIND models. */
static void test_no_callback_no_context(void **state)
{
    servers *sv = *state;
    static const char *const TS[] = {DCM_TS_IMPLICIT_LE, NULL};
    net_params p = {0};
    snprintf(p.calling_aet, sizeof p.calling_aet, "SCU");
    snprintf(p.called_aet, sizeof p.called_aet, "DEST");
    net_params_add(&p, NET_STUDY_ROOT_FIND, TS);
    net_params_add(&p, NET_VERIFICATION_SOP, TS);
    net_assoc *a = net_connect("127.0.0.1", sv->fx.dest_port, &p, NULL);
    assert_non_null(a);
    assert_null(net_find_pc(a, NET_STUDY_ROOT_FIND, NULL));
    assert_non_null(net_find_pc(a, NET_VERIFICATION_SOP, NULL));
    net_release(a, NULL);
    net_assoc_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_streams_all), cmocka_unit_test(test_find_cancel), cmocka_unit_test(test_get),
        cmocka_unit_test(test_move), cmocka_unit_test(test_move_cancel),
        cmocka_unit_test(test_move_partial), cmocka_unit_test(test_no_callback_no_context),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
