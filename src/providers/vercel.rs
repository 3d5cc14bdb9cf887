//! Vercel (placeholder while being written).
