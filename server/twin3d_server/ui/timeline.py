"""The bottom bar: Play, Pause, Step, the Time slider with event markers, the clock, the speed."""

from __future__ import annotations

from trame.widgets import html
from trame.widgets import vuetify3 as v3


def timeline_bar(ctx) -> None:
    ctrl, n = ctx.ctrl, ctx.panels["timeline"].typed.name
    v3.VBtn("Play", click=ctrl.timeline_play, disabled=(f"{n.playing} || !{n.n_frames}",),
            prepend_icon="mdi-play", size="small", variant="tonal")
    v3.VBtn("Pause", click=ctrl.timeline_pause, disabled=(f"!{n.playing}",),
            prepend_icon="mdi-pause", size="small", variant="tonal", classes="ml-1")
    v3.VBtn("Step", click=ctrl.timeline_step, prepend_icon="mdi-skip-next", size="small",
            variant="tonal", classes="ml-1")
    v3.VSlider(v_model_number=(n.time_index,), min=0, max=(f"Math.max({n.n_frames} - 1, 0)",), step=1,
               label="Time", hide_details=True, density="compact", classes="mx-4", style="flex: 1 1 auto; min-width: 160px",
               ticks=(f"Object.fromEntries({n.events}.map(e => [e.index, e.label]))",),
               show_ticks=(f"{n.events}.length ? 'always' : false",))
    v3.VChip("computing…", v_if=(n.computing,), size="small", color="warning", classes="mr-2",
             prepend_icon="mdi-progress-clock")
    html.Span(f"{{{{ {n.clock} }}}}", id="timeline-clock", classes="text-body-2 mr-3 text-no-wrap",
              raw_attrs=['aria-live="polite"'])
    v3.VSelect(v_model_number=(n.speed,), items=(n.speeds,), label="Frames/s",
               density="compact", hide_details=True, style="min-width: 110px; max-width: 110px")
