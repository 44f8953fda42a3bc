//! The tree sink: a minimal DOM that html5ever's tree builder fills, nodes in a vector and handles
//! their indices. The builder repairs misnested and unclosed tags as a browser would.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tree_builder::{ElemName, ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::{Attribute, LocalName, Namespace, QualName, local_name, ns};

/// What a node of the tree is.
#[derive(Debug)]
pub(super) enum NodeData {
    Document,
    Element {
        name: QualName,
        attrs: Vec<Attribute>,
    },
    Text(StrTendril),
    /// Comments, processing instructions, doctypes: never written out.
    Ignored,
}

/// A node, its parent and its children, by index.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) data: NodeData,
    pub(super) parent: Option<usize>,
    pub(super) children: Vec<usize>,
}

/// A minimal DOM for html5ever: nodes in a vector, handles are indices.
#[derive(Debug)]
pub(super) struct ArenaSink {
    nodes: RefCell<Vec<Node>>,
}

impl Default for ArenaSink {
    fn default() -> Self {
        Self { nodes: RefCell::new(vec![Node { data: NodeData::Document, parent: None, children: vec![] }]) }
    }
}

/// The finished DOM; node 0 is the document.
pub(super) struct Dom {
    pub(super) nodes: Vec<Node>,
}

#[derive(Debug)]
/// An element name owned by value, so the sink need not hand out borrows of its `RefCell`.
pub(super) struct OwnedName(QualName);

impl ElemName for OwnedName {
    fn ns(&self) -> &Namespace {
        &self.0.ns
    }
    fn local_name(&self) -> &LocalName {
        &self.0.local
    }
}

impl ArenaSink {
    fn new_node(&self, data: NodeData) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { data, parent: None, children: vec![] });
        nodes.len() - 1
    }

    fn detach(&self, node: usize) {
        let mut nodes = self.nodes.borrow_mut();
        if let Some(parent) = nodes[node].parent.take() {
            nodes[parent].children.retain(|&c| c != node);
        }
    }

    fn insert(&self, parent: usize, index: Option<usize>, child: NodeOrText<usize>) {
        let mut nodes = self.nodes.borrow_mut();
        let position = index.unwrap_or(nodes[parent].children.len());
        match child {
            NodeOrText::AppendText(text) => {
                // Merge with the preceding text node, as the DOM does.
                if position > 0 {
                    let prev = nodes[parent].children[position - 1];
                    if let NodeData::Text(t) = &mut nodes[prev].data {
                        t.push_tendril(&text);
                        return;
                    }
                }
                nodes.push(Node { data: NodeData::Text(text), parent: Some(parent), children: vec![] });
                let id = nodes.len() - 1;
                nodes[parent].children.insert(position, id);
            }
            NodeOrText::AppendNode(node) => {
                drop(nodes);
                self.detach(node);
                let mut nodes = self.nodes.borrow_mut();
                let position = index.unwrap_or(nodes[parent].children.len()).min(nodes[parent].children.len());
                nodes[node].parent = Some(parent);
                nodes[parent].children.insert(position, node);
            }
        }
    }
}

impl TreeSink for ArenaSink {
    type Handle = usize;
    type Output = Dom;
    type ElemName<'a> = OwnedName;

    fn finish(self) -> Dom {
        Dom { nodes: self.nodes.into_inner() }
    }
    fn parse_error(&self, _msg: std::borrow::Cow<'static, str>) {}
    fn get_document(&self) -> usize {
        0
    }
    fn elem_name<'a>(&'a self, target: &'a usize) -> OwnedName {
        match &self.nodes.borrow()[*target].data {
            NodeData::Element { name, .. } => OwnedName(name.clone()),
            _ => OwnedName(QualName::new(None, ns!(html), local_name!(""))),
        }
    }
    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, _flags: ElementFlags) -> usize {
        self.new_node(NodeData::Element { name, attrs })
    }
    fn create_comment(&self, _text: StrTendril) -> usize {
        self.new_node(NodeData::Ignored)
    }
    fn create_pi(&self, _target: StrTendril, _data: StrTendril) -> usize {
        self.new_node(NodeData::Ignored)
    }
    fn append(&self, parent: &usize, child: NodeOrText<usize>) {
        self.insert(*parent, None, child);
    }
    fn append_based_on_parent_node(&self, element: &usize, prev_element: &usize, child: NodeOrText<usize>) {
        if self.nodes.borrow()[*element].parent.is_some() {
            self.append_before_sibling(element, child);
        } else {
            self.append(prev_element, child);
        }
    }
    fn append_doctype_to_document(&self, _name: StrTendril, _public_id: StrTendril, _system_id: StrTendril) {}
    fn get_template_contents(&self, target: &usize) -> usize {
        // Template contents are dropped by the policy; the element itself can hold them.
        *target
    }
    fn same_node(&self, x: &usize, y: &usize) -> bool {
        x == y
    }
    fn set_quirks_mode(&self, _mode: QuirksMode) {}
    fn append_before_sibling(&self, sibling: &usize, new_node: NodeOrText<usize>) {
        let parent = self.nodes.borrow()[*sibling].parent;
        if let Some(parent) = parent {
            let index = self.nodes.borrow()[parent].children.iter().position(|c| c == sibling);
            self.insert(parent, index, new_node);
        }
    }
    fn add_attrs_if_missing(&self, target: &usize, attrs: Vec<Attribute>) {
        if let NodeData::Element { attrs: existing, .. } = &mut self.nodes.borrow_mut()[*target].data {
            for attr in attrs {
                if !existing.iter().any(|a| a.name == attr.name) {
                    existing.push(attr);
                }
            }
        }
    }
    fn remove_from_parent(&self, target: &usize) {
        self.detach(*target);
    }
    fn reparent_children(&self, node: &usize, new_parent: &usize) {
        let children = std::mem::take(&mut self.nodes.borrow_mut()[*node].children);
        let mut nodes = self.nodes.borrow_mut();
        for &c in &children {
            nodes[c].parent = Some(*new_parent);
        }
        nodes[*new_parent].children.extend(children);
    }
}
