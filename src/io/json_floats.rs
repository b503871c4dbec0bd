//! Vectors of f64 in JSON with their infinities and NaN: JSON has no such numbers (serde_json
//! writes them as `null` and cannot read that back as a float), so they are written as the
//! strings "inf", "-inf" and "nan". For saved state that must read back exactly what was
//! written (`#[serde(with = "crate::io::json_floats")]`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Float {
    Number(f64),
    Word(String),
}

pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
    let words: Vec<Float> = values
        .iter()
        .map(|&v| match v {
            v if v.is_finite() => Float::Number(v),
            v if v.is_nan() => Float::Word("nan".into()),
            v if v > 0.0 => Float::Word("inf".into()),
            _ => Float::Word("-inf".into()),
        })
        .collect();
    words.serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    Vec::<Float>::deserialize(d)?
        .into_iter()
        .map(|f| match f {
            Float::Number(v) => Ok(v),
            Float::Word(w) => match w.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                other => Err(serde::de::Error::custom(format!("'{other}' is not a number"))),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct T {
        #[serde(with = "super")]
        v: Vec<f64>,
    }

    #[test]
    fn infinities_round_trip() {
        let t = T { v: vec![1.5, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, -0.0, 1e-300] };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"v":[1.5,"inf","-inf","nan",-0.0,1e-300]}"#);
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(back.v[..3], t.v[..3]);
        assert!(back.v[3].is_nan());
        assert_eq!(back.v[4].to_bits(), (-0.0f64).to_bits());
        assert!(serde_json::from_str::<T>(r#"{"v":["big"]}"#).is_err());
    }
}
