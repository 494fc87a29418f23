/* config.c — settings: embedded defaults < JSON file < DQR_* environment.
 * One table describes every key; loading, printing and the docs check all
 * read it, so a key cannot be added without its default and its variable. */
#include "gateway/gw.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { K_STR, K_INT } key_type;

typedef struct key {
    const char *name;
    key_type type;
    size_t off;
    const char *def; /* default, as text */
    int min, max;    /* K_INT range */
    const char *doc;
} key;

#define F(f) offsetof(gw_config, f)
static const key keys[] = {
    {"data_dir", K_STR, F(data_dir), "./var", 0, 0, "catalog, archive, logs and temporary files"},
    {"http_addr", K_STR, F(http_addr), "127.0.0.1", 0, 0, "IPv4 address of the REST API and web UI"},
    {"http_port", K_INT, F(http_port), "8080", 0, 65535, "HTTP port (0 picks a free one)"},
    {"http_max_connections", K_INT, F(http_max_connections), "512", 1, 65536, "simultaneous HTTP connections"},
    {"aet", K_STR, F(aet), "DQR", 0, 0, "AE title of dqr's receiver, and calling AE of its requests"},
    {"dicom_addr", K_STR, F(dicom_addr), "127.0.0.1", 0, 0, "IPv4 address of dqr's receiver"},
    {"dicom_port", K_INT, F(dicom_port), "11112", 0, 65535, "DICOM port of dqr's receiver"},
    {"receivers", K_STR, F(receivers), "", 0, 0,
     "more receivers, comma-separated AET@PORT or AET@ADDR:PORT (a PACS picks one with receiver_aet)"},
    {"receiver_check_address", K_INT, F(receiver_check_address), "1", 0, 1,
     "1: a PACS may send to the receivers only from the address of its host (0: any address, AE title only)"},
    {"dicom_max_associations", K_INT, F(dicom_max_associations), "32", 1, 1024,
     "simultaneous connections to each receiver"},
    {"dicom_max_per_address", K_INT, F(dicom_max_per_address), "8", 1, 1024,
     "simultaneous connections to each receiver from one IP address"},
    {"dicom_assoc_timeout_s", K_INT, F(dicom_assoc_timeout_s), "10", 1, 600,
     "seconds a connection to a receiver has to send its whole association request (ARTIM)"},
    {"dicom_idle_timeout_s", K_INT, F(dicom_idle_timeout_s), "60", 1, 86400,
     "seconds an association with a receiver may stay silent"},
    {"max_instance_bytes", K_INT, F(max_instance_bytes), "536870912", 65536, INT_MAX,
     "largest instance a receiver or a C-GET import holds in memory; a larger one is answered 0xA700"},
    {"unrequested", K_STR, F(unrequested), "refuse", 0, 0,
     "an instance no import asked for: refuse (C-STORE failure) or quarantine (kept sealed)"},
    {"phi_policy", K_STR, F(phi_policy), "warn", 0, 0,
     "identifying data left after the scripts: warn (archive, count, log) or refuse (not archived)"},
    {"import_poll_seconds", K_INT, F(import_poll_seconds), "2", 1, 3600, "how often the scheduler looks at the queue"},
    {"import_retry_seconds", K_INT, F(import_retry_seconds), "30", 1, 86400,
     "first wait before retrying a failed transfer (doubles each time)"},
    {"import_scheduler", K_INT, F(import_scheduler), "1", 0, 1,
     "1: this node runs queued imports; 0: receiver only (other nodes on the same catalog claim them)"},
    {"import_workers", K_INT, F(import_workers), "0", 0, 16,
     "threads de-identifying and writing received instances (0: one per CPU)"},
    {"import_max_attempts", K_INT, F(import_max_attempts), "4", 1, 100, "transfers tried before a session fails"},
    {"admin_password", K_STR, F(admin_password), "", 0, 0,
     "password of user admin, set on first start (empty: generated and printed once)"},
    {"catalog", K_STR, F(catalog), "", 0, 0, "catalog database: sqlite:PATH (empty: sqlite:DATA_DIR/catalog.db)"},
    {"vault_key_file", K_STR, F(vault_key_file), "", 0, 0,
     "key sealing original identifiers, outside data_dir (empty: ~/.config/dqr/vault.key)"},
    {"uid_secret_file", K_STR, F(uid_secret_file), "", 0, 0,
     "secret keying UID replacement (empty: ~/.config/dqr/uid-secret, as the command line)"},
    {"log_file", K_STR, F(log_file), "", 0, 0, "log file; \"-\" for standard error only (empty: DATA_DIR/logs/dqr.log)"},
    {"query_max_results", K_INT, F(query_max_results), "1000", 1, 1000000,
     "results kept per query; dqr cancels the C-FIND beyond this"},
    {"query_timeout", K_INT, F(query_timeout), "30", 1, 3600, "seconds a PACS may take to answer"},
    {"session_hours", K_INT, F(session_hours), "12", 1, 8760, "lifetime of a login token"},
    {"history_retention_days", K_INT, F(history_retention_days), "365", 1, 36500,
     "query and import history older than this is purged"},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static char **str_at(gw_config *c, const key *k)
{
    return (char **)(void *)((char *)c + k->off);
}

static int *int_at(gw_config *c, const key *k)
{
    return (int *)(void *)((char *)c + k->off);
}

static const key *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Set k from text (defaults and environment); where names the source. */
static dqr_status set_text(gw_config *c, const key *k, const char *v, const char *where, dqr_error *err)
{
    if (k->type == K_STR) {
        char *dup = strdup(v);
        if (!dup)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        free(*str_at(c, k));
        *str_at(c, k) = dup;
        return DQR_OK;
    }
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < k->min || n > k->max)
        return dqr_error_set(err, DQR_E_USAGE, "%s: %s must be an integer from %d to %d, not '%s'", where, k->name,
                             k->min, k->max, v);
    *int_at(c, k) = (int)n;
    return DQR_OK;
}

static dqr_status set_json(gw_config *c, const key *k, json_t *v, const char *path, dqr_error *err)
{
    if (k->type == K_STR) {
        if (!json_is_string(v))
            return dqr_error_set(err, DQR_E_USAGE, "%s: %s must be a string", path, k->name);
        return set_text(c, k, json_string_value(v), path, err);
    }
    if (!json_is_integer(v) || json_integer_value(v) < k->min || json_integer_value(v) > k->max)
        return dqr_error_set(err, DQR_E_USAGE, "%s: %s must be an integer from %d to %d", path, k->name, k->min,
                             k->max);
    *int_at(c, k) = (int)json_integer_value(v);
    return DQR_OK;
}

static dqr_status load_file(gw_config *c, const char *path, dqr_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return dqr_error_set(err, DQR_E_USAGE, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    dqr_status st = DQR_OK;
    if (!json_is_object(root))
        st = dqr_error_set(err, DQR_E_USAGE, "%s: the configuration must be one JSON object", path);
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v)
    {
        if (st != DQR_OK)
            break;
        const key *k = find_key(name);
        if (!k && name[0] == '_')
            continue; /* "_comment" and the like */
        st = k ? set_json(c, k, v, path, err)
               : dqr_error_set(err, DQR_E_USAGE, "%s: unknown key '%s' (docs/configuration.md lists them)", path,
                               name);
    }
    json_decref(root);
    return st;
}

static void env_name(const key *k, char *buf, size_t n)
{
    size_t i = (size_t)snprintf(buf, n, "DQR_");
    for (const char *p = k->name; *p && i + 1 < n; p++)
        buf[i++] = (char)toupper((unsigned char)*p);
    buf[i] = '\0';
}

/* An absolute form of path for comparing locations. */
static char *absolute(const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    char cwd[PATH_MAX], *r = NULL;
    if (!getcwd(cwd, sizeof cwd))
        return strdup(path);
    return asprintf(&r, "%s/%s", cwd, strncmp(path, "./", 2) == 0 ? path + 2 : path) < 0 ? NULL : r;
}

static dqr_status derive(gw_config *c, dqr_error *err)
{
    const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
    char confdir[PATH_MAX];
    snprintf(confdir, sizeof confdir, "%s", xdg && *xdg ? xdg : "");
    if (!*confdir)
        snprintf(confdir, sizeof confdir, "%s/.config", home && *home ? home : ".");
    struct {
        char **slot;
        const char *fmt, *base;
    } d[] = {
        {&c->catalog, "sqlite:%s/catalog.db", c->data_dir},
        {&c->log_file, "%s/logs/dqr.log", c->data_dir},
        {&c->vault_key_file, "%s/dqr/vault.key", confdir},
        {&c->uid_secret_file, "%s/dqr/uid-secret", confdir},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        char *v = NULL;
        if (**d[i].slot)
            continue;
        if (asprintf(&v, d[i].fmt, d[i].base) < 0)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        free(*d[i].slot);
        *d[i].slot = v;
    }
    char *dd = absolute(c->data_dir), *vk = absolute(c->vault_key_file);
    size_t n = dd ? strlen(dd) : 0;
    int inside = dd && vk && strncmp(vk, dd, n) == 0 && (vk[n] == '/' || (n && dd[n - 1] == '/'));
    free(dd), free(vk);
    if (inside)
        return dqr_error_set(err, DQR_E_USAGE,
                             "vault_key_file must be outside data_dir (a copy of the data must not carry its key)");
    if (strcmp(c->unrequested, "refuse") && strcmp(c->unrequested, "quarantine"))
        return dqr_error_set(err, DQR_E_USAGE, "unrequested is refuse or quarantine, not '%s'", c->unrequested);
    if (strcmp(c->phi_policy, "warn") && strcmp(c->phi_policy, "refuse"))
        return dqr_error_set(err, DQR_E_USAGE, "phi_policy is warn or refuse, not '%s'", c->phi_policy);
    if (strlen(c->aet) == 0 || strlen(c->aet) > 16)
        return dqr_error_set(err, DQR_E_USAGE, "aet must be 1 to 16 characters, not '%s'", c->aet);
    gw_receiver rx[GW_MAX_RECEIVERS];
    char msg[200];
    if (gw_config_receivers(c, rx, msg, sizeof msg) < 0)
        return dqr_error_set(err, DQR_E_USAGE, "receivers: %s", msg);
    return DQR_OK;
}

dqr_status gw_config_load(gw_config *cfg, const char *path, dqr_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    dqr_status st = DQR_OK;
    for (size_t i = 0; i < NKEYS && st == DQR_OK; i++)
        st = set_text(cfg, &keys[i], keys[i].def, "default", err);
    if (st == DQR_OK && path)
        st = load_file(cfg, path, err);
    for (size_t i = 0; i < NKEYS && st == DQR_OK; i++) {
        char name[64];
        env_name(&keys[i], name, sizeof name);
        const char *v = getenv(name);
        if (v)
            st = set_text(cfg, &keys[i], v, name, err);
    }
    if (st == DQR_OK)
        st = derive(cfg, err);
    if (st != DQR_OK)
        gw_config_free(cfg);
    return st;
}

void gw_config_free(gw_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == K_STR) {
            free(*str_at(cfg, &keys[i]));
            *str_at(cfg, &keys[i]) = NULL;
        }
}

void gw_config_print(const gw_config *cfg, FILE *out)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NKEYS; i++) {
        const key *k = &keys[i];
        gw_config *c = (gw_config *)cfg;
        if (k->type == K_INT)
            json_object_set_new(o, k->name, json_integer(*int_at(c, k)));
        else if (strcmp(k->name, "admin_password") == 0)
            json_object_set_new(o, k->name, json_string(**str_at(c, k) ? "(set)" : ""));
        else
            json_object_set_new(o, k->name, json_string(*str_at(c, k) ? *str_at(c, k) : ""));
    }
    json_dumpf(o, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', out);
    json_decref(o);
}

void gw_config_print_keys(FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++) {
        char name[64];
        env_name(&keys[i], name, sizeof name);
        fprintf(out, "%s\t%s\t%s\t%s\n", keys[i].name, name, keys[i].def, keys[i].doc);
    }
}

int gw_config_receivers(const gw_config *cfg, gw_receiver out[GW_MAX_RECEIVERS], char *msg, size_t len)
{
    int n = 0;
    out[n] = (gw_receiver){.port = cfg->dicom_port};
    snprintf(out[n].aet, sizeof out[n].aet, "%s", cfg->aet);
    snprintf(out[n].addr, sizeof out[n].addr, "%s", cfg->dicom_addr);
    n++;
    const char *p = cfg->receivers ? cfg->receivers : "";
    while (*p) {
        size_t k = strcspn(p, ",");
        char item[128], *at, *colon;
        snprintf(item, sizeof item, "%.*s", (int)(k < sizeof item ? k : sizeof item - 1), p);
        p += k + (p[k] == ',');
        char *it = item;
        while (*it == ' ')
            it++;
        memmove(item, it, strlen(it) + 1);
        for (size_t e = strlen(item); e && item[e - 1] == ' ';)
            item[--e] = '\0';
        if (!*item)
            continue;
        at = strchr(item, '@');
        colon = at ? strrchr(at, ':') : NULL;
        char *port = colon ? colon + 1 : at ? at + 1 : NULL, *end = NULL;
        long v = port ? strtol(port, &end, 10) : -1;
        if (!at || at == item || at - item > 16 || !end || *end || v < 1 || v > 65535 || n == GW_MAX_RECEIVERS) {
            snprintf(msg, len, "'%s' is not AET@PORT or AET@ADDR:PORT (at most %d receivers)", item,
                     GW_MAX_RECEIVERS - 1);
            return -1;
        }
        out[n] = (gw_receiver){.port = (int)v};
        snprintf(out[n].aet, sizeof out[n].aet, "%.*s", (int)(at - item), item);
        snprintf(out[n].addr, sizeof out[n].addr, "%.*s", colon ? (int)(colon - at - 1) : 9,
                 colon ? at + 1 : "127.0.0.1");
        for (int i = 0; i < n; i++)
            if (strcmp(out[i].aet, out[n].aet) == 0) {
                snprintf(msg, len, "AE title %s is used by two receivers", out[n].aet);
                return -1;
            }
        n++;
    }
    return n;
}

dqr_status gw_config_copy(gw_config *dst, const gw_config *src, dqr_error *err)
{
    *dst = *src;
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == K_STR)
            *str_at(dst, &keys[i]) = NULL; /* so a failure frees only copies */
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].type != K_STR)
            continue;
        const char *v = *str_at((gw_config *)src, &keys[i]);
        if (!(*str_at(dst, &keys[i]) = strdup(v ? v : "")))
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    }
    return DQR_OK;
}
