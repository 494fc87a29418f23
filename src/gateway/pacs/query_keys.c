/* query_keys.c — the search form's keys and levels as DICOM: the return
 * keys of each level, what a key means at a level, and the C-FIND
 * identifier built from them. Pure; shared by C-FIND (query.c) and QIDO-RS
 * (qido.c). */
#include "dicom/dict.h"
#include "gateway/pacs/query.h"

#include <stdlib.h>
#include <string.h>

/* What each level returns when the caller does not ask for more. The
 * issuer with the PatientID: together they find a returning patient in
 * the pseudonym registry (import/registry.h). */
static const char *const return_keys[3][15] = {
    {"PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
     "NumberOfPatientRelatedStudies", NULL},
    {"StudyInstanceUID", "PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "AccessionNumber",
     "StudyDate", "StudyTime", "StudyDescription", "ModalitiesInStudy", "ReferringPhysicianName", "StudyID",
     "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", NULL},
    {"StudyInstanceUID", "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "Modality", "SeriesDate",
     "BodyPartExamined", "NumberOfSeriesRelatedInstances", NULL},
};

const char *const *gw_query_return_keys(int level)
{
    return return_keys[level];
}

const char *gw_query_key(int level, const char *key)
{
    return level == 1 && strcmp(key, "Modality") == 0 ? "ModalitiesInStudy" : key;
}

int gw_query_level(const char *level)
{
    return !level ? -1 : strcmp(level, "PATIENT") == 0 ? 0 : strcmp(level, "STUDY") == 0 ? 1
                     : strcmp(level, "SERIES") == 0    ? 2
                                                       : -1;
}

dcm_dataset *gw_query_identifier(const char *level, const json_t *keys, dqr_error *err)
{
    int li = gw_query_level(level);
    if (li < 0) {
        dqr_error_set(err, DQR_E_USAGE, "'level' is PATIENT, STUDY or SERIES");
        return NULL;
    }
    if (keys && !json_is_object(keys)) {
        dqr_error_set(err, DQR_E_USAGE, "'keys' must be an object of DICOM keyword -> value");
        return NULL;
    }
    dcm_dataset *id = dcm_dataset_new();
    if (!id) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0052), DCM_VR_CS, level, err);
    dcm_dataset_set_string(id, DCM_TAG(0x0008, 0x0005), DCM_VR_CS, "ISO_IR 192", err);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)keys, key, v)
    {
        char num[32];
        const char *text = json_string_value(v);
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), text = num;
        else if (!json_is_string(v) && !json_is_null(v)) {
            dqr_error_set(err, DQR_E_USAGE, "keys.%s must be a string", key);
            dcm_dataset_free(id);
            return NULL;
        }
        const char *name = gw_query_key(li, key);
        if (!dcm_dataset_set_key(id, name, text, err)) {
            dqr_error_prefix(err, "keys: ");
            dcm_dataset_free(id);
            return NULL;
        }
    }
    for (const char *const *k = return_keys[li]; *k; k++) {
        uint32_t tag;
        if (dcm_tag_parse(*k, &tag) == 0 && !dcm_dataset_get(id, tag))
            dcm_dataset_set_key(id, *k, "", err);
    }
    char uid[80];
    if (li == 2 && (!dcm_dataset_get_string(id, DCM_TAG(0x0020, 0x000D), uid, sizeof uid) || !*uid)) {
        dqr_error_set(err, DQR_E_USAGE, "a SERIES query needs keys.StudyInstanceUID (the study to list)");
        dcm_dataset_free(id);
        return NULL;
    }
    return id;
}
