/* vault.c — the secretbox vault, and the rule that its key is never made
 * anew under a catalog that holds values sealed with a lost one. */
#include "store/vault.h"
#include "dicom/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct store_vault {
    unsigned char key[crypto_secretbox_KEYBYTES];
};

static const char PREFIX[] = "v1:";

static dqr_status create_key(const char *path, unsigned char *key, dqr_error *err)
{
    dqr_make_parent_dirs(path, 0700);
    crypto_secretbox_keygen(key);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return dqr_error_set(err, DQR_E_IO, "vault key %s: cannot create: %s", path, strerror(errno));
    ssize_t w = write(fd, key, crypto_secretbox_KEYBYTES);
    int bad = w != (ssize_t)crypto_secretbox_KEYBYTES || fsync(fd) != 0;
    close(fd);
    if (bad) {
        unlink(path);
        return dqr_error_set(err, DQR_E_IO, "vault key %s: cannot write", path);
    }
    return DQR_OK;
}

static dqr_status read_key(const char *path, unsigned char *key, dqr_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dqr_error_set(err, DQR_E_IO, "vault key %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077)) {
        close(fd);
        return dqr_error_set(err, DQR_E_USAGE, "vault key %s is readable by others: chmod 600 it", path);
    }
    ssize_t r = read(fd, key, crypto_secretbox_KEYBYTES);
    close(fd);
    if (r != (ssize_t)crypto_secretbox_KEYBYTES)
        return dqr_error_set(err, DQR_E_PARSE, "vault key %s: not a %d-byte key", path, crypto_secretbox_KEYBYTES);
    return DQR_OK;
}

store_vault *store_vault_open(const char *key_path, dqr_error *err)
{
    if (sodium_init() < 0) {
        dqr_error_set(err, DQR_E_IO, "libsodium failed to initialize");
        return NULL;
    }
    store_vault *v = calloc(1, sizeof *v);
    if (!v) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    dqr_status st = access(key_path, F_OK) == 0 ? read_key(key_path, v->key, err) : create_key(key_path, v->key, err);
    if (st != DQR_OK) {
        store_vault_close(v);
        return NULL;
    }
    return v;
}

/* Every sealed column of the catalog (schema.c marks them _enc). */
static const char *const SEALED[] = {
    "SELECT COUNT(*) FROM query_history WHERE keys_enc IS NOT NULL AND keys_enc <> ''",
    "SELECT COUNT(*) FROM import_sessions WHERE orig_enc IS NOT NULL AND orig_enc <> ''",
    "SELECT COUNT(*) FROM import_sessions WHERE study_enc IS NOT NULL AND study_enc <> ''",
    "SELECT COUNT(*) FROM pacs WHERE password_enc IS NOT NULL AND password_enc <> ''",
    "SELECT COUNT(*) FROM subject_registry WHERE orig_enc <> ''",
};

dqr_status store_vault_sealed_count(store *db, int64_t *n, dqr_error *err)
{
    *n = 0;
    for (size_t i = 0; i < sizeof SEALED / sizeof SEALED[0]; i++) {
        int64_t k = 0;
        dqr_status st = store_int(db, SEALED[i], NULL, 0, &k, err);
        if (st != DQR_OK)
            return st;
        *n += k;
    }
    return DQR_OK;
}

store_vault *store_vault_open_for(const char *key_path, store *db, dqr_error *err)
{
    int64_t sealed = 0;
    if (access(key_path, F_OK) != 0 && errno == ENOENT) {
        if (store_vault_sealed_count(db, &sealed, err) != DQR_OK)
            return NULL;
        if (sealed > 0) {
            dqr_error_set(err, DQR_E_USAGE,
                          "vault key %s is missing, but the catalog holds %lld sealed values: restore the key file "
                          "(a new key would make them unreadable, so none is made)",
                          key_path, (long long)sealed);
            return NULL;
        }
    }
    return store_vault_open(key_path, err);
}

void store_vault_close(store_vault *v)
{
    if (v) {
        sodium_memzero(v->key, sizeof v->key);
        free(v);
    }
}

char *store_vault_seal(const store_vault *v, const void *plain, size_t n)
{
    size_t raw_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
    unsigned char *raw = malloc(raw_len);
    if (!raw)
        return NULL;
    randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES, plain, n, raw, v->key);
    size_t b64 = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(sizeof PREFIX - 1 + b64);
    if (out) {
        memcpy(out, PREFIX, sizeof PREFIX - 1);
        sodium_bin2base64(out + sizeof PREFIX - 1, b64, raw, raw_len, sodium_base64_VARIANT_ORIGINAL);
    }
    free(raw);
    return out;
}

dqr_status store_vault_unseal(const store_vault *v, const char *sealed, char **plain, size_t *n, dqr_error *err)
{
    if (strncmp(sealed, PREFIX, sizeof PREFIX - 1) != 0)
        return dqr_error_set(err, DQR_E_PARSE, "sealed value: unknown format");
    const char *b64 = sealed + sizeof PREFIX - 1;
    size_t cap = strlen(b64), raw_len = 0;
    unsigned char *raw = malloc(cap + 1);
    if (!raw)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    if (sodium_base642bin(raw, cap, b64, strlen(b64), NULL, &raw_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        raw_len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        free(raw);
        return dqr_error_set(err, DQR_E_PARSE, "sealed value: damaged");
    }
    size_t m = raw_len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *out = malloc(m + 1);
    if (!out || crypto_secretbox_open_easy((unsigned char *)out, raw + crypto_secretbox_NONCEBYTES,
                                           raw_len - crypto_secretbox_NONCEBYTES, raw, v->key) != 0) {
        free(raw);
        free(out);
        return dqr_error_set(err, DQR_E_PARSE, "sealed value: wrong key or altered");
    }
    free(raw);
    out[m] = '\0';
    *plain = out;
    if (n)
        *n = m;
    return DQR_OK;
}

void store_vault_tag(const store_vault *v, const void *data, size_t n, char out[65])
{
    unsigned char sub[crypto_auth_hmacsha256_KEYBYTES], mac[crypto_auth_hmacsha256_BYTES];
    crypto_kdf_derive_from_key(sub, sizeof sub, 1, "dqr_tag_", v->key); /* never the sealing key itself */
    crypto_auth_hmacsha256(mac, data, n, sub);
    sodium_bin2hex(out, 65, mac, sizeof mac);
    sodium_memzero(sub, sizeof sub);
}
