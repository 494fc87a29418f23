/* secret.h — the site secret that keys UID replacement and date shifting:
 * the same secret gives the same output UIDs in every run. */
#ifndef DQR_CLI_SECRET_H
#define DQR_CLI_SECRET_H

#include <stdint.h>

/* Load the 32-byte key from path (SHA-256 of the file's contents, which must
 * be at least 16 bytes). With path NULL: $DQR_UID_SECRET_FILE, else
 * $XDG_CONFIG_HOME/dqr/uid-secret (~/.config/dqr/uid-secret), created with
 * 32 random bytes and mode 0600 on first use. Prints its own errors; 0 on success. */
int secret_load(const char *path, uint8_t key[32]);

#endif
