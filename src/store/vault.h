/* vault.h — sealing original identifiers (PHI) before they reach the
 * catalog: libsodium secretbox (XSalsa20-Poly1305) under one site key kept
 * in a file outside the data directory, created on first use with mode 0600.
 * Sealed text is "v1:" + base64(nonce || ciphertext); a new random nonce per
 * value, so equal inputs never give equal outputs. */
#ifndef DQR_STORE_VAULT_H
#define DQR_STORE_VAULT_H

#include <stddef.h>

#include "dicom/error.h"

typedef struct store_vault store_vault;

/* Load the key at key_path, creating it (and its directory, mode 0700) when
 * missing. A key file readable by group or others is refused. */
store_vault *store_vault_open(const char *key_path, dqr_error *err);
/* Wipes the key from memory. NULL is allowed. */
void store_vault_close(store_vault *v);

/* Seal n bytes: returns a NUL-terminated string the caller frees, or NULL
 * when out of memory. */
char *store_vault_seal(const store_vault *v, const void *plain, size_t n);

/* Open sealed text: *plain (NUL-terminated, caller frees) and *n. A wrong key
 * or altered text fails with DQR_E_PARSE. */
dqr_status store_vault_unseal(const store_vault *v, const char *sealed, char **plain, size_t *n, dqr_error *err);

#endif
