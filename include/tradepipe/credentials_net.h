#ifndef TRADEPIPE_CREDENTIALS_NET_H
#define TRADEPIPE_CREDENTIALS_NET_H

/* Floor 3: credential providers that need the network, and the default chain.
 *  - ECS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on
 *    http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or
 *    http to a loopback, ECS or EKS address only), with the Authorization
 *    header from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, else
 *    AWS_CONTAINER_AUTHORIZATION_TOKEN;
 *  - EC2 instance metadata, IMDSv2 only: a session token (PUT
 *    /latest/api/token), the role name, then the role's credentials; 1 s
 *    timeouts; AWS_EC2_METADATA_DISABLED=true turns it off,
 *    AWS_EC2_METADATA_SERVICE_ENDPOINT moves it;
 *  - web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (and
 *    AWS_ROLE_SESSION_NAME) exchanged at STS (AssumeRoleWithWebIdentity,
 *    endpoint AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or the regional one);
 *  - the default chain, in the SDKs' order: environment, web identity,
 *    profile (shared files), ECS, IMDSv2.
 * Each provider reads its variables at each fetch through the options'
 * getenv_fn; one that is not configured answers TP_E_NOT_FOUND, so a chain
 * moves on. Secrets and tokens never appear in errors. */

#include "tradepipe/credentials.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * ECS container credentials. Fetch: TP_E_NOT_FOUND (neither URI variable);
 * TP_E_CONFIG (a FULL_URI host that is not allowed, an unreadable token
 * file); TP_E_CREDENTIALS (HTTP status or document errors); TP_E_HTTP.
 */
TP_API tp_status tp_credentials_provider_new_ecs(tp_credentials_provider **out,
                                                 const tp_credentials_provider_options *opts,
                                                 tp_error *err);
/**
 * EC2 IMDSv2. Fetch: TP_E_NOT_FOUND (disabled, no service answering, no
 * role); TP_E_CREDENTIALS (a document that is not Code "Success", bad JSON).
 */
TP_API tp_status tp_credentials_provider_new_imds(tp_credentials_provider **out,
                                                  const tp_credentials_provider_options *opts,
                                                  tp_error *err);
/**
 * Web identity through STS. Fetch: TP_E_NOT_FOUND (variables unset);
 * TP_E_CONFIG (only one of the two set, unreadable token file);
 * TP_E_CREDENTIALS (STS refused: err->aws_code); TP_E_HTTP.
 */
TP_API tp_status tp_credentials_provider_new_web_identity(
    tp_credentials_provider **out, const tp_credentials_provider_options *opts, tp_error *err);
/** The default chain: environment, web identity, profile, ECS, IMDSv2. */
TP_API tp_status tp_credentials_provider_new_default(tp_credentials_provider **out,
                                                     const tp_credentials_provider_options *opts,
                                                     tp_error *err);

#ifdef __cplusplus
}
#endif
#endif
