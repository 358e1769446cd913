//! The transcendental arithmetic of Redis's GEO commands, with this
//! platform's C library (Rust's `f64::sin`, `cos` and `asin` call libm's),
//! as redis-server computes it: JavaScript's Math.sin and the like are
//! V8's own, which differ from glibc's in the last bits, enough to change a
//! stored distance or which geohash boxes a search reads
//! (src/server/geo.ts says where each is used).

use crate::napi::{CallCtx, JsError, Method, Result, Value};

pub(crate) const METHODS: [(&str, Method); 2] = [("geoDistance", distance), ("geoCos", cos)];

/// Redis's EARTH_RADIUS_IN_METERS and D_R (M_PI / 180.0).
const EARTH_RADIUS: f64 = 6372797.560856;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn arg(cx: &CallCtx<'_>, i: usize, what: &str) -> Result<f64> {
    cx.number(i, what)?
        .ok_or_else(|| JsError::type_error(format!("{what} must be a number")).into())
}

/// geohashGetDistance: haversine, in meters; the latitude difference alone where the longitudes are one.
pub(crate) fn haversine(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = lon1 * D_R;
    let lon2r = lon2 * D_R;
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return EARTH_RADIUS * (lat2 * D_R - lat1 * D_R).abs();
    }
    let lat1r = lat1 * D_R;
    let lat2r = lat2 * D_R;
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

/// `geoDistance(lon1, lat1, lon2, lat2): number`.
fn distance(cx: &mut CallCtx<'_>) -> Result<Value> {
    let d = haversine(
        arg(cx, 0, "lon1")?,
        arg(cx, 1, "lat1")?,
        arg(cx, 2, "lon2")?,
        arg(cx, 3, "lat2")?,
    );
    cx.env().number(d)
}

/// `geoCos(x): number`: libm's cos.
fn cos(cx: &mut CallCtx<'_>) -> Result<Value> {
    let x = arg(cx, 0, "x")?;
    cx.env().number(x.cos())
}

#[cfg(test)]
mod tests {
    use super::haversine;

    #[test]
    fn palermo_to_catania_is_redis_s_figure() {
        // GEODIST Sicily Palermo Catania on redis-server: 166274.1516 (from the positions its scores decode to).
        let d = haversine(
            13.36138933897018433,
            38.11555639549629859,
            15.08726745843887329,
            37.50266842333162032,
        );
        assert_eq!(format!("{d:.4}"), "166274.1516");
        assert_eq!(
            haversine(1.0, 10.0, 1.0, 11.0),
            6372797.560856 * (11.0 * super::D_R - 10.0 * super::D_R).abs()
        );
    }
}
