/* cmd_backup.c — `dqr backup` and `dqr restore`: what a site must keep to
 * read its catalog again, in one private folder: a consistent online
 * snapshot of the catalog (store_backup: SQLite's backup API, or pg_dump),
 * the vault key that unseals the original identifiers and the UID secret
 * that keeps replacement UIDs stable, plus a manifest. The folder holds the
 * keys, so it is made 0700 and every file in it 0600: it must be stored as
 * carefully as the keys themselves. The archive of de-identified files is
 * not in it (copy data_dir/archive with rsync or a file-system snapshot). */
#include "cli/cli.h"
#include "dicom/fs.h"
#include "gateway/gw.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { MAX_SECRET = 4096 };

typedef struct opts {
    const char *config, *path;
    bool force;
} opts;

static int parse(const dqr_command *self, int argc, char **argv, opts *o)
{
    *o = (opts){0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            o->config = argv[++i];
        else if (strcmp(argv[i], "--force") == 0 && strcmp(self->name, "restore") == 0)
            o->force = true;
        else if (argv[i][0] == '-' || o->path)
            return cli_usage_error(self, "unexpected argument '%s'", argv[i]);
        else
            o->path = argv[i];
    }
    if (!o->path)
        return cli_usage_error(self, "missing the backup folder");
    return DQR_EXIT_OK;
}

/* path's contents (at most MAX_SECRET bytes) into buf; *n its length. 0,
 * 1 when the file does not exist, -1 on another error (message printed). */
static int read_small(const char *path, unsigned char *buf, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t r = read(fd, buf, MAX_SECRET);
    close(fd);
    if (r < 0) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    *n = (size_t)r;
    return 0;
}

/* buf written to path as a new 0600 file (folders above made 0700); with
 * replace an existing one is overwritten atomically (temp + rename). */
static int write_secret(const char *path, const unsigned char *buf, size_t n, bool replace)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.restore-tmp", path) >= (int)sizeof tmp || dqr_make_parent_dirs(path, 0700) != 0) {
        cli_error("%s: cannot make its folder: %s", path, strerror(errno));
        return -1;
    }
    if (!replace && access(path, F_OK) == 0) {
        cli_error("%s exists: restore onto fresh key paths (or --force)", path);
        return -1;
    }
    unlink(tmp);
    int fd = dqr_open_new(tmp, 0600);
    bool ok = fd >= 0 && write(fd, buf, n) == (ssize_t)n && fsync(fd) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok || rename(tmp, path) != 0) {
        cli_error("%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The secrets a backup carries: manifest name and where the config keeps it. */
typedef struct secret_file {
    const char *name;
    const char *path;
} secret_file;

static void secrets_of(const gw_config *cfg, secret_file out[2])
{
    out[0] = (secret_file){"vault.key", cfg->vault_key_file};
    out[1] = (secret_file){"uid-secret", cfg->uid_secret_file};
}

static int load_config(const char *config, gw_config *cfg)
{
    dqr_error err = {0};
    if (gw_config_load(cfg, config, &err) != DQR_OK) {
        cli_error("%s", err.message);
        return DQR_EXIT_USAGE;
    }
    return DQR_EXIT_OK;
}

static int backup_to(const gw_config *cfg, const char *dir)
{
    /* opened at the version it has: a backup never migrates the catalog a
     * running (maybe older) dqr serve uses */
    dqr_error err = {0};
    int version = 0;
    store *s = NULL;
    if (store_check(cfg->catalog, &version, &err) == DQR_OK && version == 0)
        dqr_error_set(&err, DQR_E_NOTFOUND, "catalog %s has no tables yet: nothing to back up", cfg->catalog);
    else if (version > 0)
        s = store_open_at_version(cfg->catalog, version, &err);
    if (!s) {
        cli_error("backup: %s", err.message);
        return DQR_EXIT_FAIL;
    }
    if (mkdir(dir, 0700) != 0) {
        cli_error("backup: %s: %s (give a folder that does not exist yet)", dir, strerror(errno));
        store_close(s);
        return DQR_EXIT_FAIL;
    }
    bool pg = strcmp(store_backend(s), "sqlite") != 0;
    const char *catalog_name = pg ? "catalog.pgdump" : "catalog.db";
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, catalog_name);
    dqr_status st = store_backup(s, path, &err);
    json_t *man = json_pack("{s:s,s:s,s:i,s:I,s:s,s:[]}", "format", "dqr-backup-1", "backend", store_backend(s),
                            "schema", store_schema_version(s), "created", (json_int_t)time(NULL), "catalog",
                            catalog_name, "secrets");
    store_close(s);
    if (st != DQR_OK) {
        cli_error("backup: %s", err.message);
        json_decref(man);
        return DQR_EXIT_FAIL;
    }
    chmod(path, 0600);
    secret_file sec[2];
    secrets_of(cfg, sec);
    for (int i = 0; i < 2; i++) {
        unsigned char buf[MAX_SECRET];
        size_t n = 0;
        int r = read_small(sec[i].path, buf, &n);
        snprintf(path, sizeof path, "%s/%s", dir, sec[i].name);
        if (r < 0 || (r == 0 && write_secret(path, buf, n, false) != 0)) {
            json_decref(man);
            return DQR_EXIT_FAIL;
        }
        if (r == 0)
            json_array_append_new(json_object_get(man, "secrets"), json_string(sec[i].name));
        else /* not made yet (nothing sealed, no UID replaced): nothing to keep */
            fprintf(stderr, "dqr: backup: %s does not exist: not in the backup\n", sec[i].path);
    }
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    int bad = json_dump_file(man, path, JSON_INDENT(2)) != 0;
    json_decref(man);
    if (bad) {
        cli_error("backup: cannot write %s", path);
        return DQR_EXIT_FAIL;
    }
    fprintf(stderr, "dqr: backup in %s: it holds the vault key, keep it as safe as the key\n", dir);
    return DQR_EXIT_OK;
}

/* The SQLite catalog's file, made (with its folders) before it is loaded,
 * so it is private from its first byte. */
static int prepare_sqlite(const char *url)
{
    const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
    if (dqr_make_parent_dirs(path, 0700) != 0) {
        cli_error("restore: %s: cannot make its folder: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Whether the manifest lists the secret file name. */
static bool in_backup(json_t *man, const char *name)
{
    size_t k;
    json_t *v;
    json_array_foreach(json_object_get(man, "secrets"), k, v) {
        if (json_string_value(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

static int restore_from(const gw_config *cfg, const char *dir, bool force)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    json_error_t je;
    json_t *man = json_load_file(path, 0, &je);
    const char *backend = json_string_value(json_object_get(man, "backend"));
    const char *catalog = json_string_value(json_object_get(man, "catalog"));
    if (!backend || !catalog || strchr(catalog, '/')) {
        cli_error("restore: %s: not a dqr backup manifest%s%s", path, man ? "" : ": ", man ? "" : je.text);
        json_decref(man);
        return DQR_EXIT_USAGE;
    }
    bool to_pg = strncmp(cfg->catalog, "postgres", 8) == 0;
    if (to_pg != (strcmp(backend, "sqlite") != 0)) {
        cli_error("restore: the backup is of a %s catalog, the configured catalog is %s", backend,
                  to_pg ? "PostgreSQL" : "SQLite");
        json_decref(man);
        return DQR_EXIT_USAGE;
    }
    /* the keys first: a refused key path leaves the catalog untouched */
    secret_file sec[2];
    secrets_of(cfg, sec);
    for (int i = 0; i < 2 && !force; i++) {
        if (access(sec[i].path, F_OK) == 0) {
            cli_error("restore: %s exists: restore onto fresh key paths (or --force)", sec[i].path);
            json_decref(man);
            return DQR_EXIT_FAIL;
        }
    }
    snprintf(path, sizeof path, "%s/%s", dir, catalog);
    dqr_error err = {0};
    if ((!to_pg && prepare_sqlite(cfg->catalog) != 0) || store_restore(cfg->catalog, path, force, &err) != DQR_OK) {
        if (err.message[0])
            cli_error("restore: %s", err.message);
        json_decref(man);
        return DQR_EXIT_FAIL;
    }
    for (int i = 0; i < 2; i++) {
        unsigned char buf[MAX_SECRET];
        size_t n = 0;
        snprintf(path, sizeof path, "%s/%s", dir, sec[i].name);
        if (in_backup(man, sec[i].name) &&
            (read_small(path, buf, &n) != 0 || write_secret(sec[i].path, buf, n, force) != 0)) {
            json_decref(man);
            return DQR_EXIT_FAIL;
        }
    }
    json_decref(man);
    fprintf(stderr, "dqr: restored %s into %s; start dqr serve (it migrates an older catalog)\n", dir, cfg->catalog);
    return DQR_EXIT_OK;
}

/* Both commands: options, a private umask (the copies hold the keys), the
 * settings, then the work. */
static int run(const char *name, int argc, char **argv, int (*work)(const gw_config *cfg, const opts *o))
{
    opts o;
    int rc = parse(cli_find(name), argc, argv, &o);
    if (rc != DQR_EXIT_OK)
        return rc;
    umask(077);
    gw_config cfg;
    if ((rc = load_config(o.config, &cfg)) != DQR_EXIT_OK)
        return rc;
    rc = work(&cfg, &o);
    gw_config_free(&cfg);
    return rc;
}

static int backup_work(const gw_config *cfg, const opts *o)
{
    return backup_to(cfg, o->path);
}

static int restore_work(const gw_config *cfg, const opts *o)
{
    return restore_from(cfg, o->path, o->force);
}

int cmd_backup(int argc, char **argv)
{
    return run("backup", argc, argv, backup_work);
}

int cmd_restore(int argc, char **argv)
{
    return run("restore", argc, argv, restore_work);
}
