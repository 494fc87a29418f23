/* cmd_anonymize.c — `dqr anonymize`: de-identify a file or a tree.
 *
 * Scripts and profiles apply in the order given. A directory is done with
 * --jobs worker threads (default: the core count), each with its own script
 * session (DicomEdit variables persist per worker). A file is written only
 * after every step succeeded, atomically; a rejected or failed instance
 * leaves no output. Non-DICOM files are skipped with a warning.
 */
#include "anon/anon.h"
#include "cli/cli.h"
#include "cli/files.h"
#include "cli/steps.h"

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct options {
    steps st;
    long jobs;
    const char *in, *out;
    const char *safe_private; /* --safe-private FILE: extra safe private attributes */
    bool quiet, no_sync;
} options;

typedef struct job {
    const options *o;
    const anon_engine *engine;
    file_list files;
    char **outputs;
    atomic_size_t next, done, written, rejected, skipped, failed;
    bool single;
} job;

static int parse_options(const dqr_command *self, int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int t = steps_take(self, &o->st, argc, argv, &i);
        if (t < 0)
            return DQR_EXIT_USAGE;
        if (t)
            continue;
        if (strcmp(a, "--jobs") == 0) {
            char *end;
            if (!val || (o->jobs = strtol(val, &end, 10)) < 1 || *end || o->jobs > 256)
                return cli_usage_error(self, "--jobs needs a number from 1 to 256");
            i++;
        } else if (strcmp(a, "--safe-private") == 0) {
            if (!val)
                return cli_usage_error(self, "--safe-private needs a FILE");
            o->safe_private = val;
            i++;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            o->quiet = true;
        } else if (strcmp(a, "--no-sync") == 0) {
            o->no_sync = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error(self, "unknown option '%s'", a);
        } else if (!o->in) {
            o->in = a;
        } else if (!o->out) {
            o->out = a;
        } else {
            return cli_usage_error(self, "too many arguments ('%s')", a);
        }
    }
    if (!o->in || !o->out)
        return cli_usage_error(self, "needs IN and OUT");
    if (!o->st.n)
        return cli_usage_error(self, "nothing to do: give --script FILE and/or --profile basic");
    return 0;
}

/* --safe-private FILE goes to every profile with retain-safe-private (the
 * engine borrows the profiles, so this still reaches it after the build). */
static int add_safe_private(const options *o)
{
    const dqr_command *self = cli_find("anonymize");
    size_t used = 0;
    for (size_t i = 0; o->safe_private && i < o->st.n; i++) {
        anon_profile *p = o->st.profiles[i];
        if (!p || !strstr(o->st.items[i], "retain-safe-private"))
            continue;
        dqr_error err = {0};
        if (anon_profile_add_safe_private(p, o->safe_private, &err)) {
            cli_error("%s", err.message);
            return err.code == DQR_E_IO ? DQR_EXIT_FAIL : DQR_EXIT_USAGE;
        }
        used++;
    }
    if (o->safe_private && !used)
        return cli_usage_error(self, "--safe-private needs --profile basic,retain-safe-private");
    return DQR_EXIT_OK;
}

/* Keep only the meta elements a de-identified file needs. */
static void clean_meta(dcm_dataset *meta)
{
    for (size_t i = dcm_dataset_count(meta); i-- > 0;) {
        uint32_t tag = dcm_element_tag(dcm_dataset_at(meta, i));
        uint16_t e = DCM_ELEM(tag);
        if (e != 0x0000 && e != 0x0001 && e != 0x0002 && e != 0x0003 && e != 0x0010)
            dcm_dataset_remove(meta, tag);
    }
}

/* make_parent_dirs, skipped when the folder is the one this thread made last
 * (files of a series arrive together: one mkdir walk per folder, not per file). */
#define LAST_DIR 4096

static int ensure_parent(const char *out, char last[LAST_DIR])
{
    const char *slash = strrchr(out, '/');
    size_t n = slash ? (size_t)(slash - out) : 0;
    if (n && n < LAST_DIR && strncmp(last, out, n) == 0 && last[n] == '\0')
        return 0;
    if (make_parent_dirs(out) != 0)
        return -1;
    if (n < LAST_DIR) {
        memcpy(last, out, n);
        last[n] = '\0';
    }
    return 0;
}

/* One file. Returns the contract's exit code for a single-file run. */
static int process(job *j, anon_session *s, const char *in, const char *out, char last_dir[LAST_DIR])
{
    dqr_error err = {0};
    dcm_file *f = dcm_file_open(in, &err);
    if (!f) {
        if (err.code == DQR_E_NOT_DICOM) {
            if (!j->single)
                cli_error("warning: %s: not DICOM, skipped", in);
            else
                cli_error("%s", err.message);
            atomic_fetch_add(&j->skipped, 1);
            return DQR_EXIT_FAIL;
        }
        cli_error("%s", err.message);
        atomic_fetch_add(&j->failed, 1);
        return DQR_EXIT_FAIL;
    }
    size_t words = 0;
    unsigned frames = 0;
    int px = 0;
    anon_result r = steps_run(&j->o->st, s, &f, &px, &frames, &words, &err);
    if (px >= 0 && words)
        cli_error("%s%s: burned-in text: %zu word%s in %u frame%s%s", px ? "" : "warning: ", in, words,
                  words == 1 ? "" : "s", frames, frames == 1 ? "" : "s",
                  px ? " (not written)" : strcmp(j->o->st.ocr_policy ? j->o->st.ocr_policy : "", "mask") ? "" : " masked");
    int rc = DQR_EXIT_OK;
    if (px == 1) {
        atomic_fetch_add(&j->rejected, 1);
        rc = DQR_EXIT_REJECTED;
    } else if (r == ANON_REJECTED) {
        if (j->single)
            cli_error("%s: rejected by a script", in);
        atomic_fetch_add(&j->rejected, 1);
        rc = DQR_EXIT_REJECTED;
    } else if (r == ANON_FAILED) {
        cli_error("%s: %s (not written)", in, err.message);
        atomic_fetch_add(&j->failed, 1);
        rc = DQR_EXIT_FAIL;
    } else {
        clean_meta(dcm_file_meta(f));
        /* atomic by rename; made durable by one syncfs at the end of the run */
        dcm_write_options opts = {.zero_preamble = true, .no_sync = !j->single || j->o->no_sync};
        if (ensure_parent(out, last_dir) != 0 || dcm_file_write(f, out, &opts, &err)) {
            cli_error("%s", err.message[0] ? err.message : "cannot create the output folder");
            atomic_fetch_add(&j->failed, 1);
            rc = DQR_EXIT_FAIL;
        } else {
            atomic_fetch_add(&j->written, 1);
        }
    }
    dcm_file_close(f);
    return rc;
}

static void *worker(void *arg)
{
    job *j = arg;
    anon_session *s = steps_session(&j->o->st);
    char last_dir[LAST_DIR] = ""; /* this worker's last output folder */
    for (size_t i; s && (i = atomic_fetch_add(&j->next, 1)) < j->files.n;) {
        process(j, s, j->files.paths[i], j->outputs[i], last_dir);
        atomic_fetch_add(&j->done, 1);
    }
    anon_session_free(s);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* OUT/<path of the file below IN>. */
static char *output_path(const char *in_root, const char *file, const char *out_root)
{
    size_t rl = strlen(in_root);
    const char *rel = file + rl;
    while (*rel == '/')
        rel++;
    size_t n = strlen(out_root) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", out_root, rel);
    return p;
}

static int run_tree(job *j)
{
    const options *o = j->o;
    if (file_list_add(&j->files, o->in) != 0) {
        cli_error("%s: cannot read the folder", o->in);
        return DQR_EXIT_FAIL;
    }
    j->outputs = calloc(j->files.n + 1, sizeof *j->outputs);
    for (size_t i = 0; j->outputs && i < j->files.n; i++)
        if (!(j->outputs[i] = output_path(o->in, j->files.paths[i], o->out)))
            return DQR_EXIT_FAIL;
    long jobs = o->jobs ? o->jobs : sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    if ((size_t)jobs > j->files.n)
        jobs = j->files.n ? (long)j->files.n : 1;
    pthread_t threads[256];
    double t0 = now();
    long started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, worker, j) != 0)
            break;
    if (started == 0)
        worker(j);
    bool tty = !o->quiet && isatty(STDERR_FILENO);
    while (tty && atomic_load(&j->done) < j->files.n) {
        fprintf(stderr, "\r%zu/%zu files", atomic_load(&j->done), j->files.n);
        fflush(stderr);
        usleep(200 * 1000);
    }
    for (long i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    /* One flush for the whole output instead of an fsync per file: every file
     * is already complete under its name (rename is atomic); this makes the
     * run durable when the command returns, at a fraction of the cost. */
    int dfd = o->no_sync ? -1 : open(o->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (syncfs(dfd) != 0)
            cli_error("%s: sync failed", o->out);
        close(dfd);
    }
    if (tty)
        fprintf(stderr, "\r%*s\r", 40, "");
    if (!o->quiet)
        printf("anonymize: %zu written, %zu rejected, %zu skipped (not DICOM), %zu failed, in %.2f s\n",
               atomic_load(&j->written), atomic_load(&j->rejected), atomic_load(&j->skipped),
               atomic_load(&j->failed), now() - t0);
    return atomic_load(&j->failed) ? DQR_EXIT_FAIL : DQR_EXIT_OK;
}

static int run_file(job *j)
{
    const options *o = j->o;
    struct stat sb;
    char *out = NULL;
    if (stat(o->out, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        const char *base = strrchr(o->in, '/');
        size_t n = strlen(o->out) + strlen(base ? base + 1 : o->in) + 2;
        out = malloc(n);
        snprintf(out, n, "%s/%s", o->out, base ? base + 1 : o->in);
    }
    j->single = true;
    anon_session *s = steps_session(&j->o->st);
    char last_dir[LAST_DIR] = "";
    int rc = s ? process(j, s, o->in, out ? out : o->out, last_dir) : DQR_EXIT_FAIL;
    anon_session_free(s);
    free(out);
    return rc;
}

/* Each file's frame buffers (a few hundred kB) come and go: glibc would
 * hand them back to the kernel and fault fresh pages in for the next file
 * (20,000 page faults per 100 ultrasound files). Keeping freed memory for
 * reuse halves alterPixels over many files; peak memory is unchanged. */
static void keep_freed_memory(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

int cmd_anonymize(int argc, char **argv)
{
    options o = {0};
    job j = {0};
    keep_freed_memory();
    int rc = parse_options(cli_find("anonymize"), argc, argv, &o);
    if (!rc && steps_build(&o.st) != 0)
        rc = DQR_EXIT_USAGE;
    if (!rc)
        rc = add_safe_private(&o);
    if (!rc) {
        j.o = &o;
        j.engine = o.st.engine;
        struct stat sb;
        if (stat(o.in, &sb) != 0) {
            cli_error("%s: No such file or directory", o.in);
            rc = DQR_EXIT_FAIL;
        } else {
            rc = S_ISDIR(sb.st_mode) ? run_tree(&j) : run_file(&j);
        }
    }
    for (size_t i = 0; i < j.files.n && j.outputs; i++)
        free(j.outputs[i]);
    free(j.outputs);
    file_list_free(&j.files);
    steps_free(&o.st);
    return rc;
}
