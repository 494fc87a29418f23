/* gw.h — the gateway service behind `dqr serve`: configuration, and the
 * running service (catalog, PHI vault, REST API). The program owns signals
 * and printing; the gateway owns everything it starts and stops it all in
 * gw_stop.
 */
#ifndef DQR_GW_H
#define DQR_GW_H

#include <stdbool.h>
#include <stdio.h>

#include "dicom/error.h"

/* Every setting (docs/configuration.md). Strings are owned by the config. */
typedef struct gw_config {
    char *data_dir, *http_addr, *aet, *admin_password, *catalog, *vault_key_file, *log_file, *uid_secret_file;
    char *dicom_addr, *unrequested, *phi_policy, *mixed_patient_policy, *receivers, *http_tls_cert, *http_tls_key;
    char *dicom_tls_cert, *dicom_tls_key, *dicom_tls_ca;
    char *audit_file, *audit_syslog; /* the audit trail (docs/audit.md) */
    char *safe_private_file; /* set: the default site step's Basic keeps safe private attributes (deid.c) */
    char *pixel_rules_file;  /* site-wide pixel-cleaning rules (anon/pixel_rules.h), applied after the project script */
    char *ocr, *ocr_modalities, *ocr_policy, *ocr_whitelist; /* burned-in text (import/pixel_verify.c) */
    int ocr_frames, ocr_digits_ok, ocr_min_confidence;
    /* LDAP / Active Directory sign-in (ldap.c) */
    char *ldap_url, *ldap_ca_file, *ldap_bind_dn, *ldap_bind_password, *ldap_base_dn, *ldap_user_filter;
    char *ldap_group_attr, *ldap_group_filter, *ldap_admin_group, *ldap_phi_group, *ldap_project_groups;
    char *ldap_pacs_groups;
    int ldap_starttls, ldap_timeout_s;
    int http_port, http_max_connections, http_max_per_address, http_timeout_s, http_send_buffer_kib, dicom_port;
    int query_max_results, query_timeout, session_hours, history_retention_days;
    int history_purge_seconds; /* how often the retention purge runs (service.c) */
    int import_poll_seconds, import_retry_seconds, import_max_attempts, import_workers, import_scheduler;
    int import_move_idle_seconds; /* wait for the C-FIND's count after a C-MOVE answered (transfer.c) */
    int password_min_length, api_token_max_days, login_hash_concurrency;
    int login_max_failures, login_address_max_failures, login_window_seconds, login_lockout_seconds;
    int receiver_check_address, dicom_max_associations, dicom_max_per_address, dicom_assoc_timeout_s,
        dicom_idle_timeout_s, max_instance_bytes, stow_max_bytes;
} gw_config;

/* Fill cfg from the embedded defaults, then the JSON file at path (NULL for
 * none), then DQR_* environment variables; derived defaults (catalog, log
 * file, vault key) are resolved last. A bad file or value fails with
 * DQR_E_USAGE and a message naming the file:line:column or the key. */
dqr_status gw_config_load(gw_config *cfg, const char *path, dqr_error *err);
void gw_config_free(gw_config *cfg);
/* A deep copy (free with gw_config_free, also after a failure). */
dqr_status gw_config_copy(gw_config *dst, const gw_config *src, dqr_error *err);

/* Print the effective settings as JSON (admin_password masked). */
void gw_config_print(const gw_config *cfg, FILE *out);
/* Print one line per key: name, environment variable, default, meaning. */
void gw_config_print_keys(FILE *out);

/* One of dqr's DICOM receivers (the main one is aet, dicom_addr, dicom_port,
 * dicom_tls_*). With tls_cert it speaks DICOM TLS only; with tls_ca too it
 * requires client certificates issued by that CA. */
typedef struct gw_receiver {
    char aet[17], addr[64];
    char tls_cert[512], tls_key[512], tls_ca[512]; /* "" = none */
    int port;
} gw_receiver;
enum { GW_MAX_RECEIVERS = 8 };

/* The receivers of cfg, the main one first; returns how many, or -1 with a
 * sentence in msg when the `receivers` setting does not parse (items
 * AET@[ADDR:]PORT[;tls_cert=FILE;tls_key=FILE;tls_ca=FILE]) or names a TLS
 * file that cannot be read. */
int gw_config_receivers(const gw_config *cfg, gw_receiver out[GW_MAX_RECEIVERS], char *msg, size_t len);

typedef struct gw gw;

/* Open the catalog and vault (creating them on first start, with the
 * bootstrap admin), then start the HTTP server. cfg is copied. */
gw *gw_start(const gw_config *cfg, dqr_error *err);
/* The admin password generated on first start (NULL when none was
 * generated): the program shows it once, then calls gw_forget_password. */
const char *gw_bootstrap_password(const gw *g);
void gw_forget_password(gw *g);
int gw_http_port(const gw *g);
/* Re-read the settings from path (NULL: defaults and environment only), as
 * gw_config_load does, and apply the keys that can change while running
 * (reload.c lists them); log which were applied and which changed but need
 * a restart. A file that does not load fails with DQR_E_USAGE and changes
 * nothing. Call from one thread at a time (the program's signal loop). */
dqr_status gw_reload(gw *g, const char *path, dqr_error *err);
/* Stop serving (waits for running requests) and free everything. */
void gw_stop(gw *g);

#endif
