/* config.c — settings: embedded defaults < JSON file < DQR_* environment.
 * One table describes every key; loading, printing and the docs check all
 * read it, so a key cannot be added without its default and its variable. */
#include "gateway/gw.h"

#include "anon/anon.h"

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
    {"http_max_per_address", K_INT, F(http_max_per_address), "32", 0, 65536,
     "simultaneous HTTP connections from one client address (0: no limit; behind a proxy it is the proxy's)"},
    {"http_timeout_s", K_INT, F(http_timeout_s), "15", 1, 3600,
     "seconds an HTTP connection may stay idle or half-sent before it is closed"},
    {"http_send_buffer_kib", K_INT, F(http_send_buffer_kib), "512", 0, 65536,
     "socket send buffer (KiB) of a long streamed answer (WADO-RS as stored); 0: the kernel's autotuning"},
    {"http_tls_cert", K_STR, F(http_tls_cert), "", 0, 0,
     "PEM certificate (chain) of the HTTP port; with http_tls_key the port speaks HTTPS only"},
    {"http_tls_key", K_STR, F(http_tls_key), "", 0, 0,
     "PEM private key for http_tls_cert (must not be world-readable)"},
    {"aet", K_STR, F(aet), "DQR", 0, 0, "AE title of dqr's receiver, and calling AE of its requests"},
    {"dicom_addr", K_STR, F(dicom_addr), "127.0.0.1", 0, 0, "IPv4 address of dqr's receiver"},
    {"dicom_port", K_INT, F(dicom_port), "11112", 0, 65535, "DICOM port of dqr's receiver"},
    {"receivers", K_STR, F(receivers), "", 0, 0,
     "more receivers, comma-separated AET@PORT or AET@ADDR:PORT, each optionally ;tls_cert=F;tls_key=F;tls_ca=F "
     "(a PACS picks one with receiver_aet)"},
    {"dicom_tls_cert", K_STR, F(dicom_tls_cert), "", 0, 0,
     "PEM certificate of the main receiver; set, it speaks DICOM TLS only (with dicom_tls_key)"},
    {"dicom_tls_key", K_STR, F(dicom_tls_key), "", 0, 0, "PEM private key of dicom_tls_cert"},
    {"dicom_tls_ca", K_STR, F(dicom_tls_ca), "", 0, 0,
     "PEM CA certificates: the main receiver then requires client certificates issued by them"},
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
    {"stow_max_bytes", K_INT, F(stow_max_bytes), "268435456", 65536, INT_MAX,
     "largest STOW-RS request body (held in memory while its instances go through the pipeline); larger: 413"},
    {"unrequested", K_STR, F(unrequested), "refuse", 0, 0,
     "an instance no import asked for: refuse (C-STORE failure) or quarantine (kept sealed)"},
    {"phi_policy", K_STR, F(phi_policy), "warn", 0, 0,
     "identifying data left after the scripts: warn (archive, count, log) or refuse (not archived)"},
    {"ocr", K_STR, F(ocr), "at_risk", 0, 0,
     "read burned-in text (OCR) in the pixels after the scripts: off, at_risk (ocr_modalities, or Burned In "
     "Annotation YES) or always"},
    {"ocr_modalities", K_STR, F(ocr_modalities), "US,SC,OT,XA,ES,DX,CR,MG", 0, 0,
     "modalities at risk of burned-in text, comma-separated (ocr at_risk)"},
    {"ocr_frames", K_INT, F(ocr_frames), "3", 0, 100000,
     "frames read of a multi-frame: the first, the last and evenly between (3: first, middle, last; 0: all)"},
    {"ocr_policy", K_STR, F(ocr_policy), "refuse", 0, 0,
     "burned-in words found: refuse (quarantined sealed, for review), warn (archived, counted, logged) or mask "
     "(black boxes over the words on every frame, then archived)"},
    {"ocr_whitelist", K_STR, F(ocr_whitelist), "", 0, 0,
     "more words that are not PHI, comma-separated (orientation markers, units and screen labels are built in)"},
    {"ocr_digits_ok", K_INT, F(ocr_digits_ok), "1", 0, 1,
     "1: numbers of 1-3 digits (a sign, decimals, a unit: 16, 3.5, -20dB) are not PHI; longer ones always count"},
    {"ocr_min_confidence", K_INT, F(ocr_min_confidence), "0", 0, 100,
     "words Tesseract reads with less confidence (0-100) are noise"},
    {"mixed_patient_policy", K_STR, F(mixed_patient_policy), "refuse", 0, 0,
     "a study whose instances carry several PatientIDs: refuse (failed, nothing archived) or accept (archived under the "
     "requested subject)"},
    {"import_move_idle_seconds", K_INT, F(import_move_idle_seconds), "30", 1, 86400,
     "after a C-MOVE answered, seconds without a new instance before dqr stops waiting for the ones the C-FIND counted"},
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
    {"safe_private_file", K_STR, F(safe_private_file), "", 0, 0,
     "site file of extra safe private attributes; set, the built-in Basic profile runs with retain-safe-private"},
    {"pixel_rules_file", K_STR, F(pixel_rules_file), "", 0, 0,
     "site-wide pixel-cleaning rules (CTP DicomPixelAnonymizer format), matched on each instance as received, "
     "regions filled after the project script"},
    {"log_file", K_STR, F(log_file), "", 0, 0, "log file; \"-\" for standard error only (empty: DATA_DIR/logs/dqr.log)"},
    {"audit_file", K_STR, F(audit_file), "", 0, 0,
     "append-only audit log, one DICOM audit message per line (empty: DATA_DIR/logs/audit.log)"},
    {"audit_syslog", K_STR, F(audit_syslog), "off", 0, 0,
     "audit messages also to syslog (RFC 5424): off, local (/dev/log) or udp://HOST:PORT"},
    {"query_max_results", K_INT, F(query_max_results), "1000", 1, 1000000,
     "results kept per query; dqr cancels the C-FIND beyond this"},
    {"query_timeout", K_INT, F(query_timeout), "30", 1, 3600, "seconds a PACS may take to answer"},
    {"session_hours", K_INT, F(session_hours), "12", 1, 8760, "lifetime of a login token"},
    {"api_token_max_days", K_INT, F(api_token_max_days), "365", 0, 36500,
     "longest lifetime of an API token, also of older ones (0: no maximum)"},
    {"password_min_length", K_INT, F(password_min_length), "12", 8, 1024,
     "shortest password accepted (also for admin_password)"},
    {"login_max_failures", K_INT, F(login_max_failures), "5", 1, 1000,
     "failed logins to one account within login_window_seconds before it is locked"},
    {"login_address_max_failures", K_INT, F(login_address_max_failures), "20", 1, 100000,
     "failed logins from one client address within login_window_seconds before it is locked"},
    {"login_window_seconds", K_INT, F(login_window_seconds), "900", 1, 86400,
     "a count of failed logins is forgotten after this long without one"},
    {"login_lockout_seconds", K_INT, F(login_lockout_seconds), "60", 1, 86400,
     "first lockout; doubles with each further failure, up to 64 times this"},
    {"login_hash_concurrency", K_INT, F(login_hash_concurrency), "2", 1, 64,
     "password hashes (argon2id, 64 MiB each) computed at once; others wait up to 3 s, then 503"},
    {"ldap_url", K_STR, F(ldap_url), "", 0, 0,
     "directory for sign-in: ldap://HOST[:PORT] or ldaps://HOST[:PORT] (empty: local accounts only)"},
    {"ldap_starttls", K_INT, F(ldap_starttls), "0", 0, 1, "1: upgrade an ldap:// connection with StartTLS (required)"},
    {"ldap_ca_file", K_STR, F(ldap_ca_file), "", 0, 0,
     "PEM CA certificates that sign the directory's certificate (empty: the system store)"},
    {"ldap_timeout_s", K_INT, F(ldap_timeout_s), "5", 1, 120,
     "seconds the directory may take to connect or answer before a login gets 503"},
    {"ldap_bind_dn", K_STR, F(ldap_bind_dn), "", 0, 0,
     "DN of the service account that searches for users (empty: anonymous search)"},
    {"ldap_bind_password", K_STR, F(ldap_bind_password), "", 0, 0, "password of ldap_bind_dn"},
    {"ldap_base_dn", K_STR, F(ldap_base_dn), "", 0, 0, "subtree searched for users and groups"},
    {"ldap_user_filter", K_STR, F(ldap_user_filter), "(uid=%s)", 0, 0,
     "filter finding the user; %s is the login name, escaped (Active Directory: (sAMAccountName=%s))"},
    {"ldap_group_attr", K_STR, F(ldap_group_attr), "memberOf", 0, 0,
     "attribute of the user entry listing the DNs of its groups (empty: none)"},
    {"ldap_group_filter", K_STR, F(ldap_group_filter), "", 0, 0,
     "also search groups under ldap_base_dn with this filter; %s is the user's DN, escaped "
     "(e.g. (member=%s))"},
    {"ldap_admin_group", K_STR, F(ldap_admin_group), "", 0, 0, "DN of the group whose members are admins"},
    {"ldap_phi_group", K_STR, F(ldap_phi_group), "", 0, 0,
     "DN of the group whose members have the phi permission"},
    {"ldap_project_groups", K_STR, F(ldap_project_groups), "", 0, 0,
     "project grants from groups: PROJECT=GROUP_DN items separated by ';'"},
    {"ldap_pacs_groups", K_STR, F(ldap_pacs_groups), "", 0, 0,
     "PACS grants from groups: PACS_LABEL=GROUP_DN items separated by ';'"},
    {"history_retention_days", K_INT, F(history_retention_days), "365", 1, 36500,
     "query and import history older than this is purged"},
    {"history_purge_seconds", K_INT, F(history_purge_seconds), "3600", 1, 86400,
     "how often every node purges history older than history_retention_days (also at start)"},
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

/* off, local, or udp://HOST:PORT (HOST may be [IPv6]); audit.c sends to it. */
static bool audit_syslog_ok(const char *v)
{
    if (strcmp(v, "off") == 0 || strcmp(v, "local") == 0)
        return true;
    if (strncmp(v, "udp://", 6) != 0)
        return false;
    const char *colon = strrchr(v + 6, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    return colon && colon > v + 6 && end && !*end && colon[1] && port >= 1 && port <= 65535;
}

/* A file setting that is set must name a readable file: found at start,
 * not when the first client connects. */
static dqr_status readable(const char *setting, const char *path, dqr_error *err)
{
    if (*path && access(path, R_OK) != 0)
        return dqr_error_set(err, DQR_E_USAGE, "%s: cannot read '%s': %s", setting, path, strerror(errno));
    return DQR_OK;
}


/* A site rules file that does not compile stops the start, naming
 * file:line:column, rather than leave a site believing it applies. */
static dqr_status pixel_rules_ok(const char *path, dqr_error *err)
{
    if (!*path)
        return DQR_OK;
    anon_pixel_rules *r = anon_pixel_rules_load(path, err);
    if (!r) {
        dqr_error_prefix(err, "pixel_rules_file: ");
        err->code = DQR_E_USAGE;
        return DQR_E_USAGE;
    }
    anon_pixel_rules_free(r);
    return DQR_OK;
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
        {&c->audit_file, "%s/logs/audit.log", c->data_dir},
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
    if (strcmp(c->ocr, "off") && strcmp(c->ocr, "at_risk") && strcmp(c->ocr, "always"))
        return dqr_error_set(err, DQR_E_USAGE, "ocr is off, at_risk or always, not '%s'", c->ocr);
    if (strcmp(c->ocr_policy, "refuse") && strcmp(c->ocr_policy, "warn") && strcmp(c->ocr_policy, "mask"))
        return dqr_error_set(err, DQR_E_USAGE, "ocr_policy is refuse, warn or mask, not '%s'", c->ocr_policy);
    if (strcmp(c->mixed_patient_policy, "refuse") && strcmp(c->mixed_patient_policy, "accept"))
        return dqr_error_set(err, DQR_E_USAGE, "mixed_patient_policy is refuse or accept, not '%s'",
                             c->mixed_patient_policy);
    if (!audit_syslog_ok(c->audit_syslog))
        return dqr_error_set(err, DQR_E_USAGE, "audit_syslog is off, local or udp://HOST:PORT, not '%s'",
                             c->audit_syslog);
    if (!*c->http_tls_cert != !*c->http_tls_key)
        return dqr_error_set(err, DQR_E_USAGE, "%s is set but %s is not: HTTPS needs both",
                             *c->http_tls_cert ? "http_tls_cert" : "http_tls_key",
                             *c->http_tls_cert ? "http_tls_key" : "http_tls_cert");
    if (readable("http_tls_cert", c->http_tls_cert, err) || readable("http_tls_key", c->http_tls_key, err))
        return err->code;
    if (*c->ldap_url && strncmp(c->ldap_url, "ldap://", 7) && strncmp(c->ldap_url, "ldaps://", 8))
        return dqr_error_set(err, DQR_E_USAGE, "ldap_url must start with ldap:// or ldaps://, not '%s'", c->ldap_url);
    if (*c->ldap_url && !strstr(c->ldap_user_filter, "%s"))
        return dqr_error_set(err, DQR_E_USAGE, "ldap_user_filter must contain %%s (the login name), not '%s'",
                             c->ldap_user_filter);
    if (c->ldap_starttls && *c->ldap_url && strncmp(c->ldap_url, "ldap://", 7))
        return dqr_error_set(err, DQR_E_USAGE, "ldap_starttls needs an ldap:// ldap_url (ldaps:// is TLS already)");
    if (readable("ldap_ca_file", c->ldap_ca_file, err))
        return err->code;
    if (pixel_rules_ok(c->pixel_rules_file, err) != DQR_OK)
        return err->code;
    if (strlen(c->aet) == 0 || strlen(c->aet) > 16)
        return dqr_error_set(err, DQR_E_USAGE, "aet must be 1 to 16 characters, not '%s'", c->aet);
    gw_receiver rx[GW_MAX_RECEIVERS];
    char msg[700];
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

/* Append n bytes of s to the string b. mask_secrets sizes b for its worst
 * case: each "***" follows a 9-byte "password=" or a URI's ':' and
 * replaces at least nothing, so the result is under twice the input + 16. */
static void put(char *b, size_t *len, const char *s, size_t n)
{
    memcpy(b + *len, s, n);
    *len += n;
    b[*len] = '\0';
}

/* The password of a URI's user information (scheme://user:PASSWORD@host):
 * where it starts and how long it is; false when there is none. */
static bool uri_password(const char *v, size_t *at, size_t *n)
{
    const char *sep = strstr(v, "://");
    if (!sep)
        return false;
    const char *auth = sep + 3, *end = auth + strcspn(auth, "/?#");
    const char *atsign = NULL, *colon;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            atsign = p;
    colon = atsign ? memchr(auth, ':', (size_t)(atsign - auth)) : NULL;
    if (!colon)
        return false;
    *at = (size_t)(colon + 1 - v), *n = (size_t)(atsign - colon - 1);
    return true;
}

/* v with every password replaced by ***: the one in a URI's user
 * information, and the value of each password= (libpq's key=value
 * conninfo, quoted or not, and URI query parameters). New string. */
static char *mask_secrets(const char *v)
{
    size_t cap = strlen(v) * 2 + 16, len = 0, at = 0, n = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    *b = '\0';
    const char *p = v;
    if (uri_password(v, &at, &n)) {
        put(b, &len, v, at), put(b, &len, "***", 3);
        p = v + at + n;
    }
    while (*p) {
        const char *k = strcasestr(p, "password");
        if (!k) {
            put(b, &len, p, strlen(p));
            break;
        }
        bool starts = k == v || strchr(" \t?&;", k[-1]);
        const char *eq = k + 8 + strspn(k + 8, " \t"); /* libpq allows "password = x" */
        if (!starts || *eq != '=') { /* "old_password", or not a key: copied as it is */
            put(b, &len, p, (size_t)(k + 8 - p));
            p = k + 8;
            continue;
        }
        eq++;
        eq += strspn(eq, " \t");
        put(b, &len, p, (size_t)(eq - p));
        p = eq;
        if (*p == '\'') { /* a quoted conninfo value: backslash escapes */
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1])
                    p++;
            p += *p == '\'';
        } else {
            p += strcspn(p, " \t&;#");
        }
        put(b, &len, "***", 3);
    }
    return b;
}

/* What --print-config shows of a text key: every key naming a password
 * only as set or not, every other value with any password in it masked
 * (a catalog URI may carry the database's). */
static json_t *shown_value(const key *k, const char *v)
{
    if (strstr(k->name, "password"))
        return json_string(*v ? "***" : "");
    char *m = mask_secrets(v);
    json_t *o = json_string(m ? m : "***");
    free(m);
    return o;
}

void gw_config_print(const gw_config *cfg, FILE *out)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NKEYS; i++) {
        const key *k = &keys[i];
        gw_config *c = (gw_config *)cfg;
        if (k->type == K_INT)
            json_object_set_new(o, k->name, json_integer(*int_at(c, k)));
        else
            json_object_set_new(o, k->name, shown_value(k, *str_at(c, k) ? *str_at(c, k) : ""));
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

/* A receiver's TLS files: both of cert and key or neither, each readable.
 * pre names the settings: "dicom_tls_" (the main receiver) or "tls_". */
static bool receiver_tls_ok(const gw_receiver *r, const char *pre, char *msg, size_t len)
{
    if (!*r->tls_cert != !*r->tls_key) {
        snprintf(msg, len, "receiver %s: %scert and %skey go together", r->aet, pre, pre);
        return false;
    }
    if (*r->tls_ca && !*r->tls_cert) {
        snprintf(msg, len, "receiver %s: %sca needs %scert and %skey (a TLS receiver)", r->aet, pre, pre, pre);
        return false;
    }
    const char *const files[] = {r->tls_cert, r->tls_key, r->tls_ca};
    for (size_t i = 0; i < 3; i++)
        if (*files[i] && access(files[i], R_OK) != 0) {
            snprintf(msg, len, "receiver %s: cannot read '%s': %s", r->aet, files[i], strerror(errno));
            return false;
        }
    return true;
}

/* ";tls_cert=F;tls_key=F;tls_ca=F" after a receiver's address. */
static bool receiver_options(gw_receiver *r, char *opts, char *msg, size_t len)
{
    for (char *o = opts, *next; o && *o; o = next) {
        next = strchr(o, ';');
        if (next)
            *next++ = '\0';
        char *eq = strchr(o, '=');
        char *slot = NULL;
        if (eq) {
            *eq = '\0';
            slot = strcmp(o, "tls_cert") == 0 ? r->tls_cert
                   : strcmp(o, "tls_key") == 0 ? r->tls_key
                   : strcmp(o, "tls_ca") == 0  ? r->tls_ca
                                               : NULL;
        }
        if (!slot || !eq[1] || strlen(eq + 1) >= sizeof r->tls_cert) {
            snprintf(msg, len, "receiver %s: '%s' is not tls_cert=FILE, tls_key=FILE or tls_ca=FILE", r->aet, o);
            return false;
        }
        snprintf(slot, sizeof r->tls_cert, "%s", eq + 1);
    }
    return true;
}

static void trim(char *item)
{
    char *it = item;
    while (*it == ' ')
        it++;
    memmove(item, it, strlen(it) + 1);
    for (size_t e = strlen(item); e && item[e - 1] == ' ';)
        item[--e] = '\0';
}

int gw_config_receivers(const gw_config *cfg, gw_receiver out[GW_MAX_RECEIVERS], char *msg, size_t len)
{
    int n = 0;
    out[n] = (gw_receiver){.port = cfg->dicom_port};
    snprintf(out[n].aet, sizeof out[n].aet, "%s", cfg->aet);
    snprintf(out[n].addr, sizeof out[n].addr, "%s", cfg->dicom_addr);
    snprintf(out[n].tls_cert, sizeof out[n].tls_cert, "%s", cfg->dicom_tls_cert ? cfg->dicom_tls_cert : "");
    snprintf(out[n].tls_key, sizeof out[n].tls_key, "%s", cfg->dicom_tls_key ? cfg->dicom_tls_key : "");
    snprintf(out[n].tls_ca, sizeof out[n].tls_ca, "%s", cfg->dicom_tls_ca ? cfg->dicom_tls_ca : "");
    if (!receiver_tls_ok(&out[n], "dicom_tls_", msg, len))
        return -1;
    n++;
    const char *p = cfg->receivers ? cfg->receivers : "";
    while (*p) {
        size_t k = strcspn(p, ",");
        char item[2048], *at, *colon, *opts;
        snprintf(item, sizeof item, "%.*s", (int)(k < sizeof item ? k : sizeof item - 1), p);
        p += k + (p[k] == ',');
        trim(item);
        if (!*item)
            continue;
        if ((opts = strchr(item, ';')))
            *opts++ = '\0';
        trim(item);
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
        if (!receiver_options(&out[n], opts, msg, len) || !receiver_tls_ok(&out[n], "tls_", msg, len))
            return -1;
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
