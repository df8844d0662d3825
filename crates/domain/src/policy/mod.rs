//! The permission model: the roles and their order, the table of what each
//! role may do, the principal a verified credential stands for (its
//! memberships and the grants its groups hold), what those add up to on
//! one project, and the address ranges a credential works from.
//!
//! Decides who may do what, from what a principal carries; it reads nothing
//! from the database. Uses only [`crate::base`]. Every room that acts for a
//! caller asks here ([`table::authorize`], [`held::Access`]).

pub(crate) mod grant;
pub(crate) mod held;
pub(crate) mod principal;
pub(crate) mod ranges;
pub(crate) mod role;
pub(crate) mod table;
