//! How many of each access object an account may hold, each limit named once,
//! with the message its refusal gives (code `LIMIT_EXCEEDED`).

/// A limit: the most there may be, and what the refusal says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u64,
    pub message: &'static str,
}

impl Limit {
    /// Refuses one more when `count` are there already.
    pub(crate) fn check(self, count: u64) -> Result<(), crate::DomainError> {
        self.allows(count, 1)
    }

    /// Refuses `more` when `count` are there already.
    pub(crate) fn allows(self, count: u64, more: u64) -> Result<(), crate::DomainError> {
        if count.saturating_add(more) > self.max {
            Err(crate::DomainError::LimitExceeded(self.message))
        } else {
            Ok(())
        }
    }
}

pub const PROJECTS: Limit = Limit {
    max: 1000,
    message: "An account may have at most 1000 projects",
};
pub const PERMISSIONS: Limit = Limit {
    max: 500,
    message: "An account may define at most 500 permissions",
};
pub const PERMISSION_SETS: Limit = Limit {
    max: 200,
    message: "An account may have at most 200 permission sets",
};
pub const GROUPS: Limit = Limit {
    max: 200,
    message: "An account may have at most 200 groups",
};
pub const GRANTS: Limit = Limit {
    max: 1000,
    message: "An account's groups may hold at most 1000 grants in all",
};
/// Bounds a group's list of grants, which is not paged.
pub const GROUP_GRANTS: Limit = Limit {
    max: 50,
    message: "A group may hold at most 50 grants",
};
pub const SET_PERMISSIONS: Limit = Limit {
    max: 100,
    message: "A permission set may hold at most 100 permissions",
};
pub const GRANT_PROJECTS: Limit = Limit {
    max: 100,
    message: "A grant may list at most 100 projects; grant on all projects instead",
};
pub const GROUP_MEMBERS: Limit = Limit {
    max: 1000,
    message: "A group may have at most 1000 members",
};
/// Bounds what verifying one credential reads.
pub const GROUPS_PER_MEMBER: Limit = Limit {
    max: 50,
    message: "A user or service account may be in at most 50 groups of an account",
};

/// Every limit, for the tests that check their messages and their table in
/// docs/authorization.md.
pub const ALL: [Limit; 10] = [
    PROJECTS,
    PERMISSIONS,
    PERMISSION_SETS,
    GROUPS,
    GRANTS,
    GROUP_GRANTS,
    SET_PERMISSIONS,
    GRANT_PROJECTS,
    GROUP_MEMBERS,
    GROUPS_PER_MEMBER,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_allows_up_to_its_maximum() {
        let limit = Limit {
            max: 3,
            message: "three",
        };
        assert!(limit.check(2).is_ok());
        assert!(matches!(
            limit.check(3),
            Err(crate::DomainError::LimitExceeded("three"))
        ));
        assert!(limit.allows(1, 2).is_ok());
        assert!(limit.allows(1, 3).is_err());
        assert!(limit.allows(u64::MAX, 1).is_err());
        for limit in ALL {
            assert!(limit.message.contains(&limit.max.to_string()), "{limit:?}");
        }
    }

    #[test]
    fn the_documented_table_lists_every_limit() {
        let doc = include_str!("../../../../docs/authorization.md");
        let table = &doc[doc.find("## Limits").unwrap_or(0)..];
        let table = &table[..table.find("\n## ").unwrap_or(table.len())];
        let rows = table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| what"))
            .count();
        assert_eq!(rows, ALL.len(), "one row a limit:\n{table}");
        for limit in ALL {
            assert!(
                table.contains(&format!("| {} |", limit.max)),
                "{limit:?} is not in the table"
            );
        }
    }
}
