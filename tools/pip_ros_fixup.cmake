# Injected with -DCMAKE_PROJECT_INCLUDE by the Makefile when building against the ROS 2 PyPI
# wheels (never by colcon). The wheels' exported CMake targets carry include paths of the machine
# they were built on (/opt/python/cp311-cp311/...), which CMake refuses at generate time. At the end
# of configuration, rewrite those paths in every imported target to this venv's Python and NumPy.
execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c
    "import sysconfig, numpy; print(sysconfig.get_paths()['include'] + ';' + numpy.get_include())"
  OUTPUT_VARIABLE _acl_paths OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
list(GET _acl_paths 0 ACL_PYTHON_INCLUDE)
list(GET _acl_paths 1 ACL_NUMPY_INCLUDE)

function(acl_fix_wheel_include_paths)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_t IN LISTS _targets)
    get_target_property(_inc ${_t} INTERFACE_INCLUDE_DIRECTORIES)
    if(_inc)
      set(_new "${_inc}")
      list(TRANSFORM _new REPLACE "^/opt/python/[^/]+/include/python3\\.[0-9]+$" "${ACL_PYTHON_INCLUDE}")
      list(TRANSFORM _new REPLACE "^/opt/python/[^/]+/lib/python3\\.[0-9]+/site-packages/numpy/_core/include$" "${ACL_NUMPY_INCLUDE}")
      if(NOT "${_new}" STREQUAL "${_inc}")
        set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_new}")
      endif()
    endif()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL acl_fix_wheel_include_paths)
