//! The built-in knowledge files as build.rs read them: every value with its span, in static
//! tables, and a serde deserializer over them. Deserializing a [`Layer`] from these gives what
//! `toml::from_str` gives for the same text, spans included (a test compares the two), without
//! parsing TOML at run time, which was the largest part of a single-file run once the matchers
//! were compiled on first use. Any error here makes the caller parse the TOML text instead, so
//! the messages a knowledge error gives are toml's own.

use std::fmt;

use serde::Deserialize as _;
use serde::de::{self, IntoDeserializer, Visitor};

use super::schema::Layer;

pub(super) struct Node {
    start: u32,
    end: u32,
    kind: Kind,
}

pub(super) enum Kind {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    /// The first index in `ITEMS`, and how many.
    Array(u32, u32),
    /// The first index in `ENTRIES`, and how many.
    Table(u32, u32),
}

include!(concat!(env!("OUT_DIR"), "/knowledge_tree.rs"));

/// The built-in files' names as build.rs read them, in load order.
#[cfg(test)]
pub(super) fn files() -> &'static [&'static str] {
    &FILES
}

/// Each built-in file's layer, in load order; `None` if any does not deserialize (then the
/// TOML text says why).
pub(super) fn layers() -> Option<Vec<Layer>> {
    ROOTS
        .iter()
        .map(|&root| Layer::deserialize(Value(&NODES[root as usize])).ok())
        .collect()
}

#[derive(Debug)]
pub(super) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

#[derive(Clone, Copy)]
struct Value(&'static Node);

impl Value {
    fn span(self) -> std::ops::Range<usize> {
        self.0.start as usize..self.0.end as usize
    }
}

struct Items(std::slice::Iter<'static, u32>);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|&i| seed.deserialize(Value(&NODES[i as usize])))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Entries {
    entries: std::slice::Iter<'static, (&'static str, u32)>,
    value: Option<u32>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some(&(key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value without a key"))?;
        seed.deserialize(Value(&NODES[value as usize]))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

impl<'de> IntoDeserializer<'de, Error> for Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// As toml's value deserializer: strings, integers, booleans, arrays and tables as themselves,
/// `Spanned` with the value's span, a present value as `Some`, a string as a unit variant.
impl<'de> de::Deserializer<'de> for Value {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0.kind {
            Kind::Str(s) => visitor.visit_borrowed_str(s),
            Kind::Int(n) => visitor.visit_i64(n),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Array(first, len) => {
                let items = &ITEMS[first as usize..(first + len) as usize];
                visitor.visit_seq(Items(items.iter()))
            }
            Kind::Table(first, len) => {
                let entries = &ENTRIES[first as usize..(first + len) as usize];
                visitor.visit_map(Entries {
                    entries: entries.iter(),
                    value: None,
                })
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if serde_spanned::de::is_spanned(name) {
            return visitor.visit_map(serde_spanned::de::SpannedDeserializer::new(
                self,
                self.span(),
            ));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0.kind {
            Kind::Str(s) => visitor.visit_enum(s.into_deserializer()),
            _ => Err(de::Error::custom("wanted a string")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool u8 u16 u32 u64 i8 i16 i32 i64 i128 u128 f32 f64 char str string seq
        bytes byte_buf map unit ignored_any unit_struct tuple_struct tuple identifier
    }
}
