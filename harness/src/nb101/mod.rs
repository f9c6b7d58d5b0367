//! NAS-Bench-101: space, graph hash, enumeration, TFRecord import (issue 6).
