/* vault.h — sealing original identifiers (PHI) before they reach the
 * catalog: libsodium secretbox (XSalsa20-Poly1305) under one site key kept
 * in a file outside the data directory, created on first use with mode 0600.
 * Sealed text is "v1:" + base64(nonce || ciphertext); a new random nonce per
 * value, so equal inputs never give equal outputs. */
#ifndef DQR_STORE_VAULT_H
#define DQR_STORE_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dicom/error.h"
#include "store/store.h"

typedef struct store_vault store_vault;

/* Load the key at key_path, creating it (and its directory, mode 0700) when
 * missing. A key file readable by group or others is refused. */
store_vault *store_vault_open(const char *key_path, dqr_error *err);
/* Like store_vault_open, but a missing key file is created only while the
 * catalog db holds no sealed value (every _enc column of the schema is
 * empty): a new key would make those values unreadable, so a missing key is
 * then refused with DQR_E_USAGE naming the key path, never regenerated. */
store_vault *store_vault_open_for(const char *key_path, store *db, dqr_error *err);
/* How many non-empty sealed values the catalog holds, in every table. */
dqr_status store_vault_sealed_count(store *db, int64_t *n, dqr_error *err);
/* Wipes the key from memory. NULL is allowed. */
void store_vault_close(store_vault *v);

/* Seal n bytes: returns a NUL-terminated string the caller frees, or NULL
 * when out of memory. */
char *store_vault_seal(const store_vault *v, const void *plain, size_t n);

/* Open sealed text: *plain (NUL-terminated, caller frees) and *n. A wrong key
 * or altered text fails with DQR_E_PARSE. */
dqr_status store_vault_unseal(const store_vault *v, const char *sealed, char **plain, size_t *n, dqr_error *err);

/* A keyed hash of n bytes, as 64 hex characters into out[65]: equal inputs
 * give equal tags under one key (for looking sealed values up), and the
 * tag tells nothing of the input without the key. The key is derived from
 * the vault key, so no other secret is needed. */
void store_vault_tag(const store_vault *v, const void *data, size_t n, char out[65]);

#endif
