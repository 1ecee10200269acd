// twin3d water surface: VTK shader replacements for the flood water actor.
// Sections start with "//--- <shader> <tag>"; each one's code is inserted right after the
// VTK tag of that name (the tag is kept, so VTK still expands its own code first).
// Uniforms set by twin3d.scene.water_shader: rippleTime (s, animates the ripples).

//--- vertex //VTK::PositionVC::Dec
out vec4 waterPositionMC;

//--- vertex //VTK::PositionVC::Impl
waterPositionMC = vertexMC;

//--- fragment //VTK::PositionVC::Dec
in vec4 waterPositionMC;

//--- fragment //VTK::Light::Impl
{
  // Subtle ripples: two slow wave trains in model (metre) coordinates tilt the normal a little.
  vec2 p = waterPositionMC.xy;
  float w1 = sin(0.21 * p.x + 0.13 * p.y + 1.7 * rippleTime);
  float w2 = sin(-0.11 * p.x + 0.19 * p.y + 1.1 * rippleTime + 1.3);
  vec3 n = normalize(normalVCVSOutput + 0.07 * vec3(w1, w2, 0.0));
  if (!gl_FrontFacing) { n = -n; }
  vec3 toEye = normalize(-vertexVC.xyz);
  // Fresnel-like sheen: grazing views reflect the sky, views from above see into the water.
  float facing = clamp(abs(dot(n, toEye)), 0.0, 1.0);
  float fresnel = 0.04 + 0.96 * pow(1.0 - facing, 4.0);
  vec3 sky = vec3(0.86, 0.92, 0.97);
  vec3 tinted = mix(fragOutput0.rgb, sky, 0.65 * fresnel);
  // a soft glint from the ripples
  float glint = pow(max(0.0, 0.5 + 0.5 * w1 * w2), 24.0) * 0.12;
  fragOutput0 = vec4(clamp(tinted + glint, 0.0, 1.0), clamp(fragOutput0.a + 0.4 * fresnel, 0.0, 1.0));
}
