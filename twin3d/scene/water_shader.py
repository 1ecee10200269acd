"""The water shader (shaders/water.glsl) as VTK shader replacements on one actor."""

from __future__ import annotations

from pathlib import Path

from twin3d.config import shaders_dir

WATER_SHADER = "water.glsl"
SECTION = "//--- "


def shader_sections(path: str | Path) -> list[tuple[str, str, str]]:
    """``(shader, tag, code)`` of each section of a replacement file.

    A section starts with a line ``//--- <vertex|fragment> <VTK tag>``; its code runs to
    the next section.  Lines before the first section are comments.
    """
    sections: list[tuple[str, str, list[str]]] = []
    for line in Path(path).read_text().splitlines():
        if line.startswith(SECTION):
            shader, _, tag = line[len(SECTION):].strip().partition(" ")
            if shader not in ("vertex", "fragment") or not tag.startswith("//VTK::"):
                raise ValueError(f"{path}: bad section header {line!r}")
            sections.append((shader, tag.strip(), []))
        elif sections:
            sections[-1][2].append(line)
    return [(shader, tag, "\n".join(code).strip()) for shader, tag, code in sections]


def apply_water_shader(actor, path: str | Path | None = None) -> None:
    """Add the water shader's replacements and its ``rippleTime`` uniform to ``actor``."""
    prop = actor.GetShaderProperty()
    for shader, tag, code in shader_sections(path or shaders_dir() / WATER_SHADER):
        add = prop.AddVertexShaderReplacement if shader == "vertex" else prop.AddFragmentShaderReplacement
        add(tag, True, f"{tag}\n{code}\n", False)
    set_ripple_time(actor, 0.0)


def set_ripple_time(actor, seconds: float) -> None:
    """Move the ripples to time ``seconds`` (a uniform: no geometry changes)."""
    actor.GetShaderProperty().GetFragmentCustomUniforms().SetUniformf("rippleTime", float(seconds))


def remove_water_shader(actor) -> None:
    """Back to VTK's plain shaders."""
    actor.GetShaderProperty().ClearAllShaderReplacements()
