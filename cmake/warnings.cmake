# caliper_warnings(<target>): our own targets build warning-free. -Werror only where we
# choose the compiler (the dev, asan, fuzz and bench presets turn CALIPER_WERROR on): a
# packager's newer or older compiler may warn where ours does not, and must still build.
function(caliper_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(CALIPER_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# caliper_module(<name> SOURCES ... DEPS ... PRIVATE_DEPS ...): one static library per module.
function(caliper_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(caliper_${name} STATIC ${M_SOURCES})
  target_include_directories(caliper_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(caliper_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  caliper_warnings(caliper_${name})
endfunction()
