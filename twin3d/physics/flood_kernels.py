"""Taichi fields and kernels of the flood solver (imported only when a solver is made).

One fused kernel does a whole time step of the hydrodynamics: rows are split into
blocks run in parallel; inside a block, rows and then columns go serially, so every
face flux is computed once: the west face is the previous cell's east face, carried in
a local variable, and the south face is the previous row's north face, kept in a
per-block row buffer.  The same pass applies friction, writes the other ping-pong
buffer, reduces the largest wave speed for the next CFL step and sums the volume
through the domain boundary.  The arithmetic matches
:mod:`twin3d.physics.flood_reference` operation for operation.
"""

# No ``from __future__ import annotations`` here: Taichi reads kernel argument
# annotations as objects when it decorates them.
import taichi as ti

from twin3d.physics.flood_base import GRAVITY

KIND = {"closed": 0, "open": 1, "stage": 2}


@ti.func
def face_flux(hL, uL, vL, zL, hR, uR, vR, zR, h_dry, G):
    """HLL flux with hydrostatic reconstruction; see ``flood_reference.face_flux``."""
    zero = hL * 0
    fh, fnl, fnr, ft = zero, zero, zero, zero
    zf = ti.max(zL, zR)
    hl = ti.max(hL + zL - zf, 0)
    hr = ti.max(hR + zR - zf, 0)
    dry_l = hl <= h_dry
    dry_r = hr <= h_dry
    if not (dry_l and dry_r):
        cl = ti.sqrt(G * hl)
        cr = ti.sqrt(G * hr)
        sl, sr = uL - cl, uR + cr
        if dry_l:
            sl, sr = uR - 2 * cr, uR + cr
        elif dry_r:
            sl, sr = uL - cl, uL + 2 * cl
        else:
            us = 0.5 * (uL + uR) + cl - cr
            cs = 0.5 * (cl + cr) + 0.25 * (uL - uR)
            sl = ti.min(uL - cl, us - cs)
            sr = ti.max(uR + cr, us + cs)
        ql = hl * uL
        qr = hr * uR
        fl = ql * uL + 0.5 * G * hl * hl
        fr = qr * uR + 0.5 * G * hr * hr
        fn = zero
        if sl >= 0:
            fh, fn = ql, fl
        elif sr <= 0:
            fh, fn = qr, fr
        else:
            denom = sr - sl
            fh = (sr * ql - sl * qr + sl * sr * (hr - hl)) / denom
            fn = (sr * fl - sl * fr + sl * sr * (qr - ql)) / denom
        ft = fh * ti.select(fh >= 0, vL, vR)
        fnl = fn - 0.5 * G * hl * hl
        fnr = fn - 0.5 * G * hr * hr
    return fh, fnl, fnr, ft


@ti.func
def wall_face(hL, uL, vL, zL, wL, hR, uR, vR, zR, wR, h_dry, G):
    """Face flux with walls as mirrors; zero between two walls."""
    zero = hL * 0
    fh, fnl, fnr, ft = zero, zero, zero, zero
    if wL and wR:
        pass
    elif wR:
        fh, fnl, fnr, ft = face_flux(hL, uL, vL, zL, hL, -uL, vL, zL, h_dry, G)
    elif wL:
        fh, fnl, fnr, ft = face_flux(hR, -uR, vR, zR, hR, uR, vR, zR, h_dry, G)
    else:
        fh, fnl, fnr, ft = face_flux(hL, uL, vL, zL, hR, uR, vR, zR, h_dry, G)
    return fh, fnl, fnr, ft


@ti.data_oriented
class FloodFields:
    """The Taichi state of one flood solver: ping-pong buffers, cell data and kernels."""

    def __init__(self, shape: tuple[int, int], dx: float, real: str, kinds: list[str], h_dry: float,
                 rows_per_block: int = 16):
        self.ny, self.nx = shape
        self.real = ti.f32 if real == "float32" else ti.f64
        self.dx = dx
        self.h_dry = h_dry
        self.kinds = tuple(KIND[k] for k in kinds)  # west, east, south, north
        self.rows = rows_per_block
        self.nblocks = (self.ny + rows_per_block - 1) // rows_per_block
        self.state = ti.Vector.field(3, self.real, shape=(2, self.ny, self.nx))
        self.z = ti.field(self.real, shape=shape)
        self.wall = ti.field(ti.i8, shape=shape)
        self.gn2 = ti.field(self.real, shape=shape)
        self.rain = ti.field(self.real, shape=shape)
        self.drain = ti.field(self.real, shape=shape)
        self.ybuf = ti.Vector.field(4, self.real, shape=(self.nblocks, self.nx))
        self.speed = ti.field(self.real, shape=())
        self.out_volume = ti.field(ti.f64, shape=())
        self.drained = ti.field(ti.f64, shape=())
        self.wet_box = ti.Vector.field(4, ti.i32, shape=())  # rows min, max, columns min, max
        self.cur = 0

    @ti.func
    def g(self):
        """Gravity in the field precision (a bare Python float literal is float32 in a kernel)."""
        return ti.cast(ti.f64(GRAVITY), self.real)

    @ti.func
    def hd(self):
        """The dry depth in the field precision."""
        return ti.cast(ti.f64(self.h_dry), self.real)

    @ti.func
    def rcbrt(self, h):
        """h^(-1/3) for h > 0: float64 through pow; float32 by a bit-level guess and three
        Newton steps (no division), accurate to float32 round-off (relative error < 2e-7)
        at a third of pow's cost.  Each step is written three multiplies deep rather than
        five: the friction update sits at the end of each cell's chain of dependent
        operations, and the kernel is bound by that latency."""
        y = h
        if ti.static(self.real == ti.f64):
            y = ti.pow(h, ti.f64(-1.0 / 3.0))
        else:
            y = ti.bit_cast(ti.u32(1419967116) - ti.bit_cast(h, ti.u32) // ti.u32(3), ti.f32)
            for _ in ti.static(range(3)):
                # y (4 - h y^3) / 3 as 4y/3 - (h y)(y y)(y/3): three multiplies deep, not five
                y = y * ti.f32(4.0 / 3.0) - (h * y) * (y * y) * (y * ti.f32(1.0 / 3.0))
        return y

    @ti.func
    def cell(self, c, i, j):
        """``(h, u, v, z, wall)`` of cell (i, j) of buffer c."""
        s = self.state[c, i, j]
        h = s[0]
        u, v = h - h, h - h
        if h > self.hd():
            inv = 1 / h
            u = s[1] * inv
            v = s[2] * inv
        return h, u, v, self.z[i, j], self.wall[i, j] != 0

    @ti.func
    def ghost(self, kind: ti.template(), side: ti.template(), stage, h, u, v, z, w):
        """The state beyond a domain side (0 west, 1 east, 2 south, 3 north): a wall (closed), the
        stage depth (stage), or free outflow (open): a copy whose normal velocity points outward,
        so an open side lets water leave but, like a wall, never draws it in."""
        gh, gw, gu, gv = h, w, u, v
        if ti.static(kind == 0):
            gw = True
        if ti.static(kind == 1):
            if ti.static(side == 0):
                gu = -ti.abs(u)
            if ti.static(side == 1):
                gu = ti.abs(u)
            if ti.static(side == 2):
                gv = -ti.abs(v)
            if ti.static(side == 3):
                gv = ti.abs(v)
        if ti.static(kind == 2):
            gh = ti.max(ti.cast(stage, self.real) - z, 0)
        return gh, gu, gv, z, gw

    @ti.func
    def north(self, c, i, j, stage):
        """The cell north of (i, j), or the north ghost on the last row."""
        h, u, v, z, w = self.cell(c, ti.min(i + 1, self.ny - 1), j)
        if i + 1 >= self.ny:
            h, u, v, z, w = self.ghost(self.kinds[3], 3, stage, *self.cell(c, i, j))
        return h, u, v, z, w

    @ti.func
    def south_face(self, c, i, j, stage):
        """Flux through the south face of cell (i, j) (y-normal: u and v swapped)."""
        hT, uT, vT, zT, wT = self.cell(c, i, j)
        hB, uB, vB, zB, wB = self.cell(c, ti.max(i - 1, 0), j)
        if i == 0:
            hB, uB, vB, zB, wB = self.ghost(self.kinds[2], 2, stage, hT, uT, vT, zT, wT)
        return wall_face(hB, vB, uB, zB, wB, hT, vT, uT, zT, wT, self.hd(), self.g())

    @ti.func
    def update(self, c, i, j, k, dt, fw, fe, fs, fn):
        """New state of cell (i, j) from its four faces, with semi-implicit Manning friction."""
        s = self.state[c, i, j]
        h = s[0] - k * (fe[0] - fw[0] + fn[0] - fs[0])
        qx = s[1] - k * (fe[1] - fw[2] + fn[3] - fs[3])
        qy = s[2] - k * (fe[3] - fw[3] + fn[1] - fs[2])
        speed = h - h
        if h > self.hd():
            inv = 1 / h
            qabs = ti.sqrt(qx * qx + qy * qy)
            keep = 1 / (1 + dt * self.gn2[i, j] * qabs * inv * inv * self.rcbrt(h))
            qx = qx * keep
            qy = qy * keep
            speed = ti.max(ti.abs(qx), ti.abs(qy)) * inv + ti.sqrt(self.g() * h)
        else:
            h = ti.max(h, 0)
            qx, qy = h - h, h - h
        return ti.Vector([h, qx, qy]), speed

    @ti.kernel
    def hydro(self, c: ti.i32, dt64: ti.f64, stages: ti.types.vector(4, ti.f64), box: ti.types.vector(4, ti.i32)):
        """One step from buffer c into buffer 1 - c over rows box[0]:box[1], columns box[2]:box[3]."""
        self.speed[None] = 0
        self.wet_box[None] = ti.Vector([self.ny, -1, self.nx, -1])
        for b in range(self.nblocks):
            i0 = ti.max(b * self.rows, box[0])
            i1 = ti.min(b * self.rows + self.rows, box[1])
            if i0 < i1:
                self.block(c, b, i0, i1, box[2], box[3], dt64, stages)

    @ti.func
    def west_face(self, c, i, c0, stage):
        """The carried state and the flux through the west face of cell (i, c0)."""
        hC, uC, vC, zC, wC = self.cell(c, i, c0)
        hW, uW, vW, zW, wW = self.cell(c, i, ti.max(c0 - 1, 0))
        if c0 == 0:
            hW, uW, vW, zW, wW = self.ghost(self.kinds[0], 0, stage, hC, uC, vC, zC, wC)
        fw = ti.Vector(wall_face(hW, uW, vW, zW, wW, hC, uC, vC, zC, wC, self.hd(), self.g()))
        return hC, uC, vC, zC, wC, fw

    @ti.func
    def block(self, c, b, i0, i1, c0, c1, dt64, stages):
        """Rows i0:i1 of block b, columns c0:c1, serially; faces computed once."""
        dt = ti.cast(dt64, self.real)
        k = dt / ti.cast(ti.f64(self.dx), self.real)
        vmax = dt - dt
        out = ti.cast(0, ti.f64)
        box = ti.Vector([self.ny, -1, self.nx, -1])
        for j in range(c0, c1):
            f = self.south_face(c, i0, j, stages[2])
            self.ybuf[b, j] = ti.Vector([f[0], f[1], f[2], f[3]])
            if i0 == 0:
                out -= f[0]
        for i in range(i0, i1):
            hC, uC, vC, zC, wC, fw = self.west_face(c, i, c0, stages[0])
            if c0 == 0:
                out -= fw[0]
            for j in range(c0, c1):
                hE, uE, vE, zE, wE = self.cell(c, i, ti.min(j + 1, self.nx - 1))
                if j + 1 >= self.nx:
                    hE, uE, vE, zE, wE = self.ghost(self.kinds[1], 1, stages[1], hC, uC, vC, zC, wC)
                fe = ti.Vector(wall_face(hC, uC, vC, zC, wC, hE, uE, vE, zE, wE, self.hd(), self.g()))
                hN, uN, vN, zN, wN = self.north(c, i, j, stages[3])
                fn = ti.Vector(wall_face(hC, vC, uC, zC, wC, hN, vN, uN, zN, wN, self.hd(), self.g()))
                fs = self.ybuf[b, j]
                self.ybuf[b, j] = fn
                new, speed = ti.Vector([hC - hC, hC - hC, hC - hC]), hC - hC
                if not wC:
                    new, speed = self.update(c, i, j, k, dt, fw, fe, fs, fn)
                self.state[1 - c, i, j] = new
                if new[0] > self.hd():
                    box = ti.Vector([ti.min(box[0], i), ti.max(box[1], i), ti.min(box[2], j), ti.max(box[3], j)])
                vmax = ti.max(vmax, speed)
                if i == self.ny - 1:
                    out += fn[0]
                fw = fe
                hC, uC, vC, zC, wC = hE, uE, vE, zE, wE
            if c1 == self.nx:
                out += fw[0]
        ti.atomic_max(self.speed[None], vmax)
        ti.atomic_min(self.wet_box[None][0], box[0])
        ti.atomic_max(self.wet_box[None][1], box[1])
        ti.atomic_min(self.wet_box[None][2], box[2])
        ti.atomic_max(self.wet_box[None][3], box[3])
        self.out_volume[None] += out * dt64 * ti.f64(self.dx)

    @ti.kernel
    def cell_sources(self, c: ti.i32, dt64: ti.f64, rain_depth64: ti.f64, per_cell: ti.i32, drainage: ti.i32):
        """Rain (uniform depth plus per-cell rate) then drainage limited by the water present."""
        dt = ti.cast(dt64, self.real)
        rain_depth = ti.cast(rain_depth64, self.real)
        for i, j in ti.ndrange(self.ny, self.nx):
            if self.wall[i, j] == 0:
                s = self.state[c, i, j]
                h = s[0]
                if rain_depth > 0 or per_cell != 0:
                    h = h + (rain_depth + dt * self.rain[i, j])
                if drainage != 0:
                    left = ti.max(h - dt * self.drain[i, j], 0)
                    self.drained[None] += ti.cast(h, ti.f64) - ti.cast(left, ti.f64)
                    keep = left / ti.select(h > 0, h, 1)
                    wet = left > self.hd()
                    s[1] = ti.select(wet, s[1] * keep, 0)
                    s[2] = ti.select(wet, s[2] * keep, 0)
                    h = left
                s[0] = h
                self.state[c, i, j] = s

    @ti.kernel
    def point_sources(self, c: ti.i32, rows: ti.types.ndarray(), cols: ti.types.ndarray(),
                      depths: ti.types.ndarray()):
        """Add inflow depths at source cells (in order, repeats allowed) and raise the wave speed there."""
        ti.loop_config(serialize=True)
        for n in range(rows.shape[0]):
            r = rows[n]
            col = cols[n]
            h = self.state[c, r, col][0] + ti.cast(depths[n], self.real)
            self.state[c, r, col][0] = h
            self.speed[None] = ti.max(self.speed[None], ti.sqrt(self.g() * h))
