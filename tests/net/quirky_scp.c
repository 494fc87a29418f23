/* quirky_scp.c — a small Query/Retrieve SCP built from the net layer that
 * misbehaves the way real PACS do, for the tests of tests/quirks/: it serves
 * the DICOM files of a folder by C-FIND (STUDY, SERIES, IMAGE) and C-MOVE,
 * and with flags
 *   --early-success     answers a C-MOVE success at once, then sends the
 *                       C-STOREs (after 300 ms) on its own;
 *   --no-sop-class      leaves SOPClassUID out of IMAGE-level C-FIND answers;
 *   --no-counts         leaves NumberOf*RelatedInstances/Series out;
 *   --refuse-study-level, --refuse-series-level
 *                       answers a C-MOVE at that level 0xC000;
 *   --drop-after N      aborts the C-MOVE (both associations) after N
 *                       C-STOREs, once in the process's life;
 *   --lose-series NUM   never sends the series whose SeriesNumber is NUM;
 *   --store-delay-ms D  waits D ms before each C-STORE.
 *   --list-matching     matches a list of PatientIDs, AccessionNumbers or
 *                       StudyDates value by value, as Orthanc does (the
 *                       standard asks it only for UIDs); without, a list
 *                       is one literal value that matches nothing.
 * It counts its incoming associations open at once and writes, after each
 * new one, "max N\nassocs N\nfinds N\nmoves LEVEL,LEVEL...\nspans FROM-TO...\n" to --stats
 * FILE (for the parallel retrieve and CSV preview tests: the most
 * associations dqr ever had open to it, how many it opened, the C-FINDs
 * asked).
 * --dest may be given several times: a C-MOVE goes to its Move Destination's.
 * Usage: quirky_scp --port P --aet AET --dir DIR --dest AET=HOST:PORT [flags]
 * Test code: one process, a thread per association, listens on 127.0.0.1. */
#include "dicom/dict.h"
#include "net/assoc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct inst {
    char path[1024], study[65], series[65], sop[65], cls[65], pid[65], acc[65], num[16], mod[16], date[17];
} inst;

static struct {
    inst *v;
    size_t n;
    char aet[17], stats[1024];
    struct dest {
        char aet[17], host[64];
        int port;
    } dests[8]; /* --dest, each time it is given */
    int ndests;
    int port, drop_after, store_delay_ms;
    bool early, no_sop_class, no_counts, refuse_study, refuse_series, lists;
    char lose_series[16];
    atomic_int stores, finds;
    atomic_bool dropped;
    pthread_mutex_t lock;
    char moves[4096];
    struct span {
        int64_t from, to; /* ms; to 0 while open */
    } spans[4096];
    int nspans;
} S = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The most associations open at once. An association ends when its
 * release request arrives (stamped by the net layer before it answers, so
 * the requestor's next association always begins later), or, aborted or
 * cut, when its thread notices. Counted over the whole history at each
 * change, so a count made while an ended one was still open is corrected. */
static int most_open(void)
{
    int most = 0;
    for (int i = 0; i < S.nspans; i++) {
        int n = 0;
        for (int k = 0; k < S.nspans; k++)
            n += S.spans[k].from <= S.spans[i].from && (!S.spans[k].to || S.spans[k].to > S.spans[i].from);
        most = n > most ? n : most;
    }
    return most;
}

static int span_open(void)
{
    pthread_mutex_lock(&S.lock);
    int i = S.nspans < 4096 ? S.nspans++ : 4095;
    S.spans[i] = (struct span){net_now_ms(), 0};
    pthread_mutex_unlock(&S.lock);
    return i;
}

static void span_close(int i, int64_t released_ms)
{
    pthread_mutex_lock(&S.lock);
    S.spans[i].to = released_ms ? released_ms : net_now_ms();
    pthread_mutex_unlock(&S.lock);
}

static void write_stats(void)
{
    if (!*S.stats)
        return;
    pthread_mutex_lock(&S.lock);
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", S.stats);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "max %d\nassocs %d\nfinds %d\nmoves %s\nspans", most_open(), S.nspans, atomic_load(&S.finds),
                S.moves);
        for (int i = 0; i < S.nspans; i++) /* ms from the first; "open" while it is */
            if (S.spans[i].to)
                fprintf(f, " %lld-%lld", (long long)(S.spans[i].from - S.spans[0].from),
                        (long long)(S.spans[i].to - S.spans[0].from));
            else
                fprintf(f, " %lld-open", (long long)(S.spans[i].from - S.spans[0].from));
        fputc('\n', f);
        fclose(f);
        rename(tmp, S.stats);
    }
    pthread_mutex_unlock(&S.lock);
}

static void get(const dcm_dataset *ds, uint16_t g, uint16_t e, char *out, size_t cap)
{
    if (!dcm_dataset_get_string(ds, DCM_TAG(g, e), out, cap))
        *out = '\0';
}

static void load_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[1024];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            load_dir(path);
            continue;
        }
        dqr_error err = {0};
        dcm_file *f = dcm_file_open(path, &err);
        if (!f)
            continue;
        S.v = realloc(S.v, (S.n + 1) * sizeof *S.v);
        inst *x = &S.v[S.n++];
        const dcm_dataset *ds = dcm_file_dataset(f);
        snprintf(x->path, sizeof x->path, "%s", path);
        get(ds, 0x0020, 0x000D, x->study, sizeof x->study);
        get(ds, 0x0020, 0x000E, x->series, sizeof x->series);
        get(ds, 0x0008, 0x0018, x->sop, sizeof x->sop);
        get(ds, 0x0008, 0x0016, x->cls, sizeof x->cls);
        get(ds, 0x0010, 0x0020, x->pid, sizeof x->pid);
        get(ds, 0x0008, 0x0050, x->acc, sizeof x->acc);
        get(ds, 0x0008, 0x0020, x->date, sizeof x->date);
        get(ds, 0x0020, 0x0011, x->num, sizeof x->num);
        get(ds, 0x0008, 0x0060, x->mod, sizeof x->mod);
        dcm_file_close(f);
    }
    if (d)
        closedir(d);
}

/* ---- matching ---------------------------------------------------------- */

typedef struct query {
    char level[16], study[65], series[65];
    char sop[65 * 1024]; /* IMAGE level: one UID or a backslash list */
    /* one value (StudyDate: no range), or with --list-matching a backslash list */
    char pid[65 * 256], acc[17 * 256], date[9 * 256];
} query;

static bool key_ok(const char *want, const char *have)
{
    return !*want || strcmp(want, "*") == 0 || strcmp(want, have) == 0;
}

/* have is one of the values of the backslash list want (or want is empty) */
static bool list_ok(const char *want, const char *have)
{
    size_t n = strlen(have);
    for (const char *p = want; *want && p;) {
        if (strncmp(p, have, n) == 0 && (p[n] == '\\' || p[n] == '\0'))
            return true;
        p = strchr(p, '\\');
        p = p ? p + 1 : NULL;
    }
    return !*want;
}

/* With --list-matching a list of patients, accessions or dates matches
 * each of its values (as Orthanc does); without, the list is one value. */
static bool value_ok(const char *want, const char *have)
{
    return S.lists && *want && strcmp(want, "*") != 0 ? list_ok(want, have) : key_ok(want, have);
}

static bool matches(const query *q, const inst *x)
{
    return key_ok(q->study, x->study) && key_ok(q->series, x->series) && list_ok(q->sop, x->sop) &&
           value_ok(q->pid, x->pid) && value_ok(q->acc, x->acc) && value_ok(q->date, x->date);
}

/* The whole value of a string element (every value, backslashes and all),
 * trailing padding removed; empty when absent or too long. */
static void get_all(const dcm_dataset *id, uint16_t g, uint16_t e, char *out, size_t cap)
{
    const dcm_element *el = dcm_dataset_get(id, DCM_TAG(g, e));
    size_t n = el ? (size_t)dcm_element_length(el) : 0;
    const uint8_t *b = el ? dcm_element_bytes(el) : NULL;
    n = b && n < cap ? n : 0;
    memcpy(out, b ? (const char *)b : "", n);
    while (n && (out[n - 1] == ' ' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
}

static void read_query(const dcm_dataset *id, query *q)
{
    get(id, 0x0008, 0x0052, q->level, sizeof q->level);
    get(id, 0x0020, 0x000D, q->study, sizeof q->study);
    get(id, 0x0020, 0x000E, q->series, sizeof q->series);
    get_all(id, 0x0008, 0x0018, q->sop, sizeof q->sop);
    get_all(id, 0x0010, 0x0020, q->pid, sizeof q->pid);
    get_all(id, 0x0008, 0x0050, q->acc, sizeof q->acc);
    get_all(id, 0x0008, 0x0020, q->date, sizeof q->date);
}

/* The first instance of each distinct key at the level (study, series or instance). */
static const char *level_key(const char *level, const inst *x)
{
    return strcmp(level, "STUDY") == 0 ? x->study : strcmp(level, "SERIES") == 0 ? x->series : x->sop;
}

static int count_where(const char *study, const char *series, bool series_count)
{
    int n = 0;
    char seen[256][65];
    int ns = 0;
    for (size_t i = 0; i < S.n; i++) {
        if (strcmp(S.v[i].study, study) != 0 || (series && strcmp(S.v[i].series, series) != 0))
            continue;
        if (!series_count) {
            n++;
            continue;
        }
        bool dup = false;
        for (int k = 0; k < ns && !dup; k++)
            dup = strcmp(seen[k], S.v[i].series) == 0;
        if (!dup && ns < 256)
            snprintf(seen[ns++], 65, "%s", S.v[i].series);
    }
    return series_count ? ns : n;
}

/* ---- responses --------------------------------------------------------- */

static dqr_status send_identifier(net_assoc *a, uint8_t pcid, dcm_dataset *ds)
{
    dqr_error err = {0};
    const net_pc *pc = NULL;
    for (size_t i = 0; i < a->p.npc; i++)
        if (a->p.pcs[i].id == pcid)
            pc = &a->p.pcs[i];
    dcm_file *f = dcm_file_wrap(NULL, ds, pc ? pc->accepted_ts : "1.2.840.10008.1.2", &err);
    dqr_status st = f ? net_send_dataset(a, pcid, f, &err) : DQR_E_NOMEM;
    dcm_file_close(f);
    return st;
}

static dqr_status respond(net_assoc *a, uint8_t pcid, uint16_t field, uint16_t msgid, const char *cls,
                          uint16_t status, const int counts[4], dcm_dataset *data)
{
    dqr_error err = {0};
    dcm_dataset *rsp = net_command(field | NET_RSP, msgid, cls, data != NULL, &err);
    if (!rsp)
        return DQR_E_NOMEM;
    net_cmd_set_us(rsp, DCM_TAG(0x0000, 0x0900), status, &err);
    for (int i = 0; counts && i < 4; i++)
        if (counts[i] >= 0)
            net_cmd_set_us(rsp, DCM_TAG(0x0000, 0x1020 + i), (uint16_t)counts[i], &err);
    dqr_status st = net_send_command(a, pcid, rsp, &err);
    dcm_dataset_free(rsp);
    if (!st && data)
        return send_identifier(a, pcid, data);
    dcm_dataset_free(data);
    return st;
}

static void set(dcm_dataset *ds, uint16_t g, uint16_t e, dcm_vr vr, const char *v)
{
    dcm_dataset_set_string(ds, DCM_TAG(g, e), vr, v, NULL);
}

static void set_int(dcm_dataset *ds, uint16_t g, uint16_t e, int v)
{
    char t[16];
    snprintf(t, sizeof t, "%d", v);
    set(ds, g, e, DCM_VR_IS, t);
}

static dcm_dataset *match_answer(const query *q, const inst *x)
{
    dcm_dataset *ds = dcm_dataset_new();
    set(ds, 0x0008, 0x0052, DCM_VR_CS, q->level);
    set(ds, 0x0010, 0x0020, DCM_VR_LO, x->pid);
    set(ds, 0x0008, 0x0050, DCM_VR_SH, x->acc);
    set(ds, 0x0020, 0x000D, DCM_VR_UI, x->study);
    bool study = strcmp(q->level, "STUDY") == 0;
    if (study && !S.no_counts) {
        set_int(ds, 0x0020, 0x1208, count_where(x->study, NULL, false));
        set_int(ds, 0x0020, 0x1206, count_where(x->study, NULL, true));
    }
    if (!study) {
        set(ds, 0x0020, 0x000E, DCM_VR_UI, x->series);
        set(ds, 0x0020, 0x0011, DCM_VR_IS, x->num);
        set(ds, 0x0008, 0x0060, DCM_VR_CS, x->mod);
    }
    if (strcmp(q->level, "SERIES") == 0 && !S.no_counts)
        set_int(ds, 0x0020, 0x1209, count_where(x->study, x->series, false));
    if (strcmp(q->level, "IMAGE") == 0) {
        set(ds, 0x0008, 0x0018, DCM_VR_UI, x->sop);
        if (!S.no_sop_class)
            set(ds, 0x0008, 0x0016, DCM_VR_UI, x->cls);
    }
    return ds;
}

static dqr_status handle_find(net_assoc *a, uint8_t pcid, uint16_t msgid, const char *cls, const query *q)
{
    for (size_t i = 0; i < S.n; i++) {
        if (!matches(q, &S.v[i]))
            continue;
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            first = !(matches(q, &S.v[k]) && strcmp(level_key(q->level, &S.v[k]), level_key(q->level, &S.v[i])) == 0);
        dqr_status st = first ? respond(a, pcid, NET_C_FIND_RQ, msgid, cls, 0xFF00, NULL, match_answer(q, &S.v[i]))
                              : DQR_OK;
        if (st)
            return st;
    }
    return respond(a, pcid, NET_C_FIND_RQ, msgid, cls, 0x0000, NULL, NULL);
}

/* ---- C-MOVE ------------------------------------------------------------ */

/* The Move Destination's association: the --dest of that AE title (the
 * only one, whatever the title, when a single one was given). */
static net_assoc *connect_dest(const char *aet, dqr_error *err)
{
    static const char *const ts[] = {"1.2.840.10008.1.2.1", "1.2.840.10008.1.2", NULL};
    const struct dest *to = S.ndests == 1 ? &S.dests[0] : NULL;
    for (int i = 0; !to && i < S.ndests; i++)
        if (strcmp(S.dests[i].aet, aet) == 0)
            to = &S.dests[i];
    if (!to)
        return NULL;
    net_params p = {0};
    snprintf(p.calling_aet, sizeof p.calling_aet, "%s", S.aet);
    snprintf(p.called_aet, sizeof p.called_aet, "%s", to->aet);
    for (size_t i = 0; i < S.n; i++) {
        bool have = false;
        for (size_t k = 0; k < p.npc && !have; k++)
            have = strcmp(p.pcs[k].abstract, S.v[i].cls) == 0;
        if (!have)
            net_params_add(&p, S.v[i].cls, ts);
    }
    return net_connect(to->host, to->port, &p, err);
}

static bool store_one(net_assoc *d, const inst *x, const char *orig_aet, uint16_t orig_msgid, uint16_t msgid)
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(x->path, &err);
    const net_pc *pc = f ? net_find_pc(d, x->cls, NULL) : NULL;
    dcm_dataset *cmd = pc ? net_command(NET_C_STORE_RQ, msgid, x->cls, true, &err) : NULL;
    bool ok = cmd != NULL;
    if (ok) {
        set(cmd, 0x0000, 0x1000, DCM_VR_UI, x->sop);
        set(cmd, 0x0000, 0x1030, DCM_VR_AE, orig_aet);
        net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x0700), 0, &err);
        net_cmd_set_us(cmd, DCM_TAG(0x0000, 0x1031), orig_msgid, &err);
        ok = net_send_command(d, pc->id, cmd, &err) == DQR_OK && net_send_dataset(d, pc->id, f, &err) == DQR_OK;
    }
    dcm_dataset_free(cmd);
    dcm_file_close(f);
    uint8_t rpc;
    dcm_dataset *rsp = NULL;
    ok = ok && net_recv_command(d, &rpc, &rsp, &err) == DQR_OK && net_cmd_us(rsp, DCM_TAG(0x0000, 0x0900)) == 0;
    dcm_dataset_free(rsp);
    return ok;
}

typedef struct move {
    net_assoc *a; /* NULL once the final answer went (early success) */
    uint8_t pcid;
    uint16_t msgid;
    char cls[65], orig_aet[17], dest[17];
    query q;
} move;

static bool level_refused(const char *level)
{
    return (S.refuse_study && strcmp(level, "STUDY") == 0) || (S.refuse_series && strcmp(level, "SERIES") == 0);
}

/* Send what m selects; false when the association broke (or was dropped). */
static bool run_move(move *m, int counts[4])
{
    dqr_error err = {0};
    int total = 0;
    for (size_t i = 0; i < S.n; i++)
        total += matches(&m->q, &S.v[i]);
    counts[0] = total, counts[1] = counts[2] = counts[3] = 0;
    net_assoc *d = total ? connect_dest(m->dest, &err) : NULL;
    if (total && !d) {
        counts[2] = total, counts[0] = 0;
        return true;
    }
    uint16_t id = 1;
    for (size_t i = 0; i < S.n; i++) {
        const inst *x = &S.v[i];
        if (!matches(&m->q, x))
            continue;
        counts[0]--;
        if (*S.lose_series && strcmp(x->num, S.lose_series) == 0) {
            counts[1]++; /* a PACS that says it sent them */
            continue;
        }
        if (S.store_delay_ms)
            usleep((useconds_t)S.store_delay_ms * 1000);
        if (S.drop_after && atomic_load(&S.stores) >= S.drop_after && !atomic_exchange(&S.dropped, true)) {
            net_abort(d);
            net_assoc_free(d);
            return false;
        }
        bool ok = store_one(d, x, m->orig_aet, m->msgid, id++);
        atomic_fetch_add(&S.stores, 1);
        counts[ok ? 1 : 2]++;
        if (m->a && respond(m->a, m->pcid, NET_C_MOVE_RQ, m->msgid, m->cls, 0xFF00, counts, NULL)) {
            m->a = NULL;
            break;
        }
    }
    net_release(d, NULL);
    net_assoc_free(d);
    return true;
}

static void *late_move(void *p)
{
    move *m = p;
    int counts[4];
    usleep(300 * 1000);
    run_move(m, counts);
    free(m);
    return NULL;
}

static void note_move(const char *level)
{
    pthread_mutex_lock(&S.lock);
    size_t n = strlen(S.moves);
    if (n + 10 < sizeof S.moves)
        snprintf(S.moves + n, sizeof S.moves - n, "%s%s", n ? "," : "", level);
    pthread_mutex_unlock(&S.lock);
    write_stats();
}

static dqr_status handle_move(net_assoc *a, uint8_t pcid, uint16_t msgid, const char *cls, const char *dest,
                              const query *q)
{
    note_move(q->level);
    move *m = calloc(1, sizeof *m);
    *m = (move){a, pcid, msgid, "", "", "", *q};
    snprintf(m->cls, sizeof m->cls, "%s", cls);
    snprintf(m->dest, sizeof m->dest, "%s", dest);
    snprintf(m->orig_aet, sizeof m->orig_aet, "%s", a->p.calling_aet);
    if (level_refused(q->level)) {
        free(m);
        return respond(a, pcid, NET_C_MOVE_RQ, msgid, cls, 0xC000, NULL, NULL);
    }
    if (S.early) {
        int total = 0;
        for (size_t i = 0; i < S.n; i++)
            total += matches(q, &S.v[i]);
        int counts[4] = {0, total, 0, 0};
        m->a = NULL;
        pthread_t t;
        pthread_create(&t, NULL, late_move, m);
        pthread_detach(t);
        return respond(a, pcid, NET_C_MOVE_RQ, msgid, cls, 0x0000, counts, NULL);
    }
    int counts[4];
    bool ok = run_move(m, counts);
    bool answer = m->a != NULL;
    free(m);
    if (!ok)
        return DQR_E_IO; /* dropped: the caller aborts the association too */
    if (!answer)
        return DQR_E_IO;
    counts[0] = -1;
    return respond(a, pcid, NET_C_MOVE_RQ, msgid, cls, counts[2] ? 0xB000 : 0x0000, counts, NULL);
}

/* ---- associations ------------------------------------------------------ */

static int collect(void *ctx, const uint8_t *d, size_t n)
{
    bytes *b = ctx;
    bytes_put(b, d, n);
    return b->failed ? -1 : 0;
}

static bool accept_assoc(net_assoc *a)
{
    dqr_error err = {0};
    uint8_t type;
    if (net_read_pdu(a, &type, &err) || type != PDU_ASSOC_RQ)
        return false;
    a->p.max_pdu = NET_DEFAULT_PDU;
    if (pdu_parse_associate(a->rbuf, a->rlen, PDU_ASSOC_RQ, &a->p, &a->info, &err))
        return false;
    for (size_t i = 0; i < a->p.npc; i++) {
        net_pc *pc = &a->p.pcs[i];
        pc->result = 4;
        for (size_t k = 0; pc->result && k < pc->nts; k++)
            if (strcmp(pc->ts[k], "1.2.840.10008.1.2.1") == 0 || strcmp(pc->ts[k], "1.2.840.10008.1.2") == 0) {
                pc->result = 0;
                memcpy(pc->accepted_ts, pc->ts[k], sizeof pc->accepted_ts);
            }
        pc->scu_role = pc->scp_role = false;
    }
    a->send_max = a->info.peer_max_pdu;
    bytes b = {0};
    pdu_build_associate(&b, PDU_ASSOC_AC, &a->p);
    bool ok = !b.failed && net_write_all(a, b.p, b.len, &err) == DQR_OK;
    free(b.p);
    return ok;
}

static dqr_status handle(net_assoc *a, uint8_t pcid, const dcm_dataset *cmd)
{
    dqr_error err = {0};
    uint16_t field = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0100)), msgid = net_cmd_us(cmd, DCM_TAG(0x0000, 0x0110));
    char cls[65] = "", dest[17] = "";
    get(cmd, 0x0000, 0x0002, cls, sizeof cls);
    get(cmd, 0x0000, 0x0600, dest, sizeof dest);
    for (size_t n = strlen(dest); n && dest[n - 1] == ' ';) /* an AE title is padded to even length */
        dest[--n] = '\0';
    if (field == NET_C_ECHO_RQ)
        return respond(a, pcid, NET_C_ECHO_RQ, msgid, cls, 0, NULL, NULL);
    if (field == 0x0FFF)
        return DQR_OK; /* C-CANCEL: everything here is already answered */
    if (field != NET_C_FIND_RQ && field != NET_C_MOVE_RQ)
        return DQR_E_UNSUPPORTED;
    bytes b = {0};
    dqr_status st = net_recv_dataset(a, collect, &b, &err);
    dcm_file *f = st ? NULL : dcm_file_parse(b.p, b.len, &err);
    free(b.p);
    if (!f)
        return DQR_E_PARSE;
    query q;
    read_query(dcm_file_dataset(f), &q);
    dcm_file_close(f);
    if (field == NET_C_FIND_RQ)
        atomic_fetch_add(&S.finds, 1);
    return field == NET_C_FIND_RQ ? handle_find(a, pcid, msgid, cls, &q) : handle_move(a, pcid, msgid, cls, dest, &q);
}

static void *serve(void *p)
{
    int fd = (int)(intptr_t)p;
    net_socket_setup(fd, 30);
    net_assoc *a = net_assoc_new(fd, 30);
    int span = span_open();
    write_stats();
    if (a && accept_assoc(a))
        for (;;) {
            uint8_t pcid;
            dcm_dataset *cmd = NULL;
            dqr_error err = {0};
            if (net_recv_command(a, &pcid, &cmd, &err))
                break;
            dqr_status st = handle(a, pcid, cmd);
            dcm_dataset_free(cmd);
            if (st) {
                net_abort(a);
                break;
            }
        }
    span_close(span, a ? a->released_ms : 0);
    write_stats(); /* counted again from all spans: one still open at an earlier count may have closed in time */
    if (a)
        net_assoc_free(a);
    else
        close(fd);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: quirky_scp --port P --aet AET --dir DIR --dest AET=HOST:PORT [--stats FILE]\n"
                    "  [--early-success] [--no-sop-class] [--no-counts] [--refuse-study-level]\n"
                    "  [--refuse-series-level] [--list-matching] [--drop-after N] [--lose-series NUM] [--store-delay-ms D]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(o, "--early-success"))
            S.early = true;
        else if (!strcmp(o, "--no-sop-class"))
            S.no_sop_class = true;
        else if (!strcmp(o, "--no-counts"))
            S.no_counts = true;
        else if (!strcmp(o, "--refuse-study-level"))
            S.refuse_study = true;
        else if (!strcmp(o, "--refuse-series-level"))
            S.refuse_series = true;
        else if (!strcmp(o, "--list-matching"))
            S.lists = true;
        else if (++i >= argc)
            return usage();
        else if (!strcmp(o, "--port"))
            S.port = atoi(v);
        else if (!strcmp(o, "--aet"))
            snprintf(S.aet, sizeof S.aet, "%s", v);
        else if (!strcmp(o, "--dir"))
            dir = v;
        else if (!strcmp(o, "--stats"))
            snprintf(S.stats, sizeof S.stats, "%s", v);
        else if (!strcmp(o, "--drop-after"))
            S.drop_after = atoi(v);
        else if (!strcmp(o, "--lose-series"))
            snprintf(S.lose_series, sizeof S.lose_series, "%s", v);
        else if (!strcmp(o, "--store-delay-ms"))
            S.store_delay_ms = atoi(v);
        else if (!strcmp(o, "--dest")) {
            struct dest *d = &S.dests[S.ndests < 8 ? S.ndests++ : 7];
            if (sscanf(v, "%16[^=]=%63[^:]:%d", d->aet, d->host, &d->port) != 3)
                return usage();
        } else
            return usage();
    }
    if (!S.port || !*S.aet || !dir || !S.ndests)
        return usage();
    load_dir(dir);
    write_stats();
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)S.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 64) != 0) {
        perror("quirky_scp: listen");
        return 1;
    }
    fprintf(stderr, "quirky_scp: %zu instances on port %d\n", S.n, S.port);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        pthread_t t;
        if (fd >= 0 && pthread_create(&t, NULL, serve, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
        else if (fd >= 0)
            close(fd);
    }
}
