# replog_warnings(target): the warning set every target of ours compiles with.
option(REPLOG_WERROR "Treat warnings as errors" OFF)

function(replog_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wcast-align -Wunused -Woverloaded-virtual
    -Wnull-dereference -Wimplicit-fallthrough
    # GCC 12 warns when a designated initializer leaves out members that
    # have default initializers (Message{.type = ..., .to = ...}); those
    # members are initialized, so the warning says nothing useful.
    -Wno-missing-field-initializers)
  if(REPLOG_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
