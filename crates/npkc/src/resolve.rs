//! Name resolution over all loaded modules: item tables and module scopes.
//!
//! In: `modules::Loaded`. Out: [`Items`], which numbers every function
//! ([`FuncId`], top-level and namespace members, in module then source order)
//! and every distinct extern C symbol ([`ExternId`]; one symbol declared in
//! several modules is one extern), and answers lookups of item names.
//! Reports duplicate definitions (`NPK-201`), items named like builtins
//! (`NPK-205`) and lookup problems (`NPK-202`, `NPK-204`, `NPK-209`).
//!
//! Visibility: a module sees its own items and the items of the modules it
//! names in `use` (not transitively). Unqualified lookup order, as `types`
//! performs it: local bindings, then builtins, then (inside a `Type:`
//! namespace) the namespace's own functions, then the module's own items,
//! then imported items; an own item shadows an imported one silently, a name
//! defined by two imported modules is ambiguous. `Ns.f` looks `Ns` up the
//! same way (minus locals and builtins) and then `f` among its members.

mod error;

use std::collections::HashMap;

pub use error::{EXPLANATIONS, Error};

use crate::ast;
use crate::diagnostic::Problems;
use crate::hir::{ExternId, FuncId};
use crate::modules::Loaded;
use crate::source::{FileId, Span};

/// Names of the builtin functions (SPEC §3.6).
pub const BUILTINS: &[&str] = &[
    "alloc",
    "free",
    "wildx_alloc",
    "wildx_seal",
    "wildx_free",
    "print",
    "println",
    "gc_ints",
    "gc_refs",
    "len",
];

/// Index into [`Items::namespaces`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsId(pub u32);

/// What an item name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemRef {
    Func(FuncId),
    Extern(ExternId),
    Namespace(NsId),
}

/// One Nitpick function and where it lives.
#[derive(Debug, Clone, Copy)]
pub struct FuncItem<'a> {
    pub decl: &'a ast::FuncDecl,
    pub module: FileId,
    pub namespace: Option<NsId>,
}

/// One extern C symbol: every declaration of it, first one first.
#[derive(Debug, Clone)]
pub struct ExternItem<'a> {
    pub decls: Vec<&'a ast::ExternDecl>,
}

/// A `Type:Name = { ... };` namespace.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: String,
    pub span: Span,
    pub members: HashMap<String, FuncId>,
}

/// The names one module sees.
#[derive(Debug, Clone, Default)]
struct ModuleScope {
    own: HashMap<String, (ItemRef, Span)>,
    imports: Vec<FileId>,
}

/// The result of looking up an item name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(ItemRef),
    /// Defined by several imported modules (their definition spans).
    Ambiguous(Vec<Span>),
    NotFound,
}

/// Every item of every module, and the scopes that see them.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    pub funcs: Vec<FuncItem<'a>>,
    pub externs: Vec<ExternItem<'a>>,
    pub namespaces: Vec<Namespace>,
    scopes: HashMap<FileId, ModuleScope>,
    /// The root module's top-level `main` and `failsafe`.
    pub main: Option<FuncId>,
    pub failsafe: Option<FuncId>,
}

/// Builds the item tables of every loaded module, reporting duplicate and
/// reserved names.
pub fn collect<'a>(loaded: &'a Loaded, problems: &mut Problems) -> Items<'a> {
    let mut items = Items {
        funcs: Vec::new(),
        externs: Vec::new(),
        namespaces: Vec::new(),
        scopes: HashMap::new(),
        main: None,
        failsafe: None,
    };
    let mut extern_ids: HashMap<&str, ExternId> = HashMap::new();
    for lm in &loaded.modules {
        let file = lm.module.file;
        let mut scope = ModuleScope {
            own: HashMap::new(),
            imports: lm.imports.clone(),
        };
        for item in &lm.module.items {
            let (name, item_ref) = match item {
                ast::Item::Use(_) => continue,
                ast::Item::Func(f) => (&f.name, ItemRef::Func(items.push_func(f, file, None))),
                ast::Item::Extern(e) => {
                    let id = *extern_ids.entry(e.name.name.as_str()).or_insert_with(|| {
                        items.externs.push(ExternItem { decls: Vec::new() });
                        ExternId(index_u32(items.externs.len() - 1))
                    });
                    items.externs[id.0 as usize].decls.push(e);
                    (&e.name, ItemRef::Extern(id))
                }
                ast::Item::Namespace(ns) => {
                    let id = NsId(index_u32(items.namespaces.len()));
                    items.namespaces.push(Namespace {
                        name: ns.name.name.clone(),
                        span: ns.name.span,
                        members: HashMap::new(),
                    });
                    for f in &ns.funcs {
                        let fid = items.push_func(f, file, Some(id));
                        let members = &mut items.namespaces[id.0 as usize].members;
                        if let Some(&first) = members.get(&f.name.name) {
                            let first = items.funcs[first.0 as usize].decl.name.span;
                            problems.push(
                                Error::DuplicateDefinition {
                                    name: f.name.name.clone(),
                                    span: f.name.span,
                                    first,
                                }
                                .into(),
                            );
                        } else {
                            members.insert(f.name.name.clone(), fid);
                        }
                    }
                    (&ns.name, ItemRef::Namespace(id))
                }
            };
            if BUILTINS.contains(&name.name.as_str()) {
                problems.push(
                    Error::ReservedName {
                        name: name.name.clone(),
                        span: name.span,
                    }
                    .into(),
                );
                continue;
            }
            if let Some(&(_, first)) = scope.own.get(&name.name) {
                problems.push(
                    Error::DuplicateDefinition {
                        name: name.name.clone(),
                        span: name.span,
                        first,
                    }
                    .into(),
                );
                continue;
            }
            scope.own.insert(name.name.clone(), (item_ref, name.span));
            if file == loaded.root
                && let ItemRef::Func(id) = item_ref
            {
                match name.name.as_str() {
                    "main" => items.main = Some(id),
                    "failsafe" => items.failsafe = Some(id),
                    _ => {}
                }
            }
        }
        items.scopes.insert(file, scope);
    }
    if let (Some(main), None) = (items.main, items.failsafe) {
        problems.push(
            Error::MissingFailsafe {
                main: items.funcs[main.0 as usize].decl.name.span,
            }
            .into(),
        );
    }
    items
}

impl<'a> Items<'a> {
    fn push_func(
        &mut self,
        decl: &'a ast::FuncDecl,
        module: FileId,
        namespace: Option<NsId>,
    ) -> FuncId {
        self.funcs.push(FuncItem {
            decl,
            module,
            namespace,
        });
        FuncId(index_u32(self.funcs.len() - 1))
    }

    /// The function with id `id`.
    #[must_use]
    pub fn func(&self, id: FuncId) -> &FuncItem<'a> {
        &self.funcs[id.0 as usize]
    }

    /// The namespace with id `id`.
    #[must_use]
    pub fn namespace(&self, id: NsId) -> &Namespace {
        &self.namespaces[id.0 as usize]
    }

    /// The qualified name of a function: `main`, `Jit.free`.
    #[must_use]
    pub fn func_name(&self, id: FuncId) -> String {
        let f = self.func(id);
        match f.namespace {
            Some(ns) => format!("{}.{}", self.namespace(ns).name, f.decl.name.name),
            None => f.decl.name.name.clone(),
        }
    }

    /// The span where an item is named in its definition.
    #[must_use]
    pub fn item_span(&self, item: ItemRef) -> Span {
        match item {
            ItemRef::Func(id) => self.func(id).decl.name.span,
            ItemRef::Extern(id) => self.externs[id.0 as usize]
                .decls
                .first()
                .map_or_else(Span::default, |d| d.name.span),
            ItemRef::Namespace(id) => self.namespace(id).span,
        }
    }

    /// Looks up an unqualified item name as seen from `module`, inside
    /// namespace `ns` if given (its members come first).
    #[must_use]
    pub fn lookup(&self, module: FileId, ns: Option<NsId>, name: &str) -> Lookup {
        if let Some(ns) = ns
            && let Some(&id) = self.namespace(ns).members.get(name)
        {
            return Lookup::Found(ItemRef::Func(id));
        }
        let Some(scope) = self.scopes.get(&module) else {
            return Lookup::NotFound;
        };
        if let Some(&(item, _)) = scope.own.get(name) {
            return Lookup::Found(item);
        }
        let mut found: Vec<(ItemRef, Span)> = Vec::new();
        for import in &scope.imports {
            if let Some(s) = self.scopes.get(import)
                && let Some(&(item, span)) = s.own.get(name)
                && !found.iter().any(|(i, _)| *i == item)
            {
                found.push((item, span));
            }
        }
        match found.as_slice() {
            [] => Lookup::NotFound,
            [(item, _)] => Lookup::Found(*item),
            _ => Lookup::Ambiguous(found.iter().map(|(_, s)| *s).collect()),
        }
    }

    /// Every item name visible from `module` (for "did you mean").
    #[must_use]
    pub fn visible_names(&self, module: FileId, ns: Option<NsId>) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        if let Some(ns) = ns {
            names.extend(self.namespace(ns).members.keys().map(String::as_str));
        }
        if let Some(scope) = self.scopes.get(&module) {
            names.extend(scope.own.keys().map(String::as_str));
            for import in &scope.imports {
                if let Some(s) = self.scopes.get(import) {
                    names.extend(s.own.keys().map(String::as_str));
                }
            }
        }
        names
    }
}

/// The closest candidate to `name` by edit distance, if close enough to be a
/// plausible typo (distance at most a third of the name's length, at least 1).
#[must_use]
pub fn suggest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = edit_distance(name, c);
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 4 billion items")
}
