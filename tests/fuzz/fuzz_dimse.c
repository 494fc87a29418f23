/* fuzz_dimse.c — libFuzzer target for what an SCU reads back: the input is
 * the byte stream a PACS sends after dqr's C-FIND-RQ or C-MOVE-RQ (P-DATA
 * PDUs holding responses, identifiers, A-RELEASE/A-ABORT, garbage), played
 * through a socket pair into net_find and net_move on an association whose
 * contexts are accepted (Study Root FIND on 1, MOVE on 3, Explicit LE). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/assoc.h"
#include "net/net.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void accepted(net_pc *pc, uint8_t id, const char *abstract)
{
    *pc = (net_pc){.id = id, .result = 0, .nts = 1};
    strcpy(pc->abstract, abstract);
    strcpy(pc->ts[0], DCM_TS_EXPLICIT_LE);
    strcpy(pc->accepted_ts, DCM_TS_EXPLICIT_LE);
}

/* An association reading data (then end of file); *peer is the other end. */
static net_assoc *replay(const uint8_t *data, size_t size, int *peer)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return NULL;
    for (size_t at = 0; at < size;) { /* inputs are small: the socket buffer holds them */
        ssize_t w = write(sv[1], data + at, size - at);
        if (w <= 0)
            break;
        at += (size_t)w;
    }
    shutdown(sv[1], SHUT_WR);
    net_assoc *a = net_assoc_new(sv[0], 1);
    if (!a) {
        close(sv[0]), close(sv[1]);
        return NULL;
    }
    accepted(&a->p.pcs[0], 1, NET_STUDY_ROOT_FIND);
    accepted(&a->p.pcs[1], 3, NET_STUDY_ROOT_MOVE);
    a->p.npc = 2;
    a->p.max_pdu = 16384;
    a->send_max = 16384;
    *peer = sv[1];
    return a;
}

static int on_match(void *ctx, const dcm_dataset *id)
{
    char v[65];
    *(int *)ctx += dcm_dataset_get_string(id, DCM_TAG(0x0020, 0x000D), v, sizeof v) == DQR_OK;
    return *(int *)ctx > 1000; /* stopping sends C-CANCEL: exercised too */
}

static int on_progress(void *ctx, const net_move_result *r)
{
    (void)r;
    return ++*(int *)ctx > 50;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dqr_error err = {0};
    dcm_dataset *id = dcm_dataset_new();
    if (!id)
        return 0;
    dcm_dataset_set_text(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, "STUDY", NULL, NULL);
    dcm_dataset_set_text(id, DCM_TAG(0x0020, 0x000D), DCM_VR_UI, "1.2.3", NULL, NULL);
    int peer = -1, n = 0;
    uint16_t status = 0;
    net_assoc *a = replay(data, size, &peer);
    if (a) {
        net_find(a, NET_STUDY_ROOT_FIND, id, on_match, &n, &status, &err);
        net_assoc_free(a);
        close(peer);
    }
    net_move_result res;
    n = 0;
    if ((a = replay(data, size, &peer))) {
        net_move(a, NET_STUDY_ROOT_MOVE, "DQR", id, 7, on_progress, &n, &res, &err);
        net_assoc_free(a);
        close(peer);
    }
    dcm_dataset_free(id);
    return 0;
}
