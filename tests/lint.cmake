# lib/'s layers (DESIGN.md "Layers"): includes and uses point down the
# floors (lib/core, codec, aws, clients, pipeline) and no sources depend on
# each other in a circle; lint_lib_layers_selftest shows each rule failing on
# a broken tree. Not build-dependent: registered in every build (cheap).
add_test(NAME lint_lib_layers
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/lint/lib_layers.py
                 ${PROJECT_SOURCE_DIR}/lib)
add_test(NAME lint_lib_layers_selftest
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/lint/lib_layers.py --selftest)
