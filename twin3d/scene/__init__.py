"""The pyvista/VTK scene of a city, built once; VTK objects stay inside this package."""
