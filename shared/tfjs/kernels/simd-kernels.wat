;; Training kernels for the tfjs wasm backend, in WebAssembly with 128-bit SIMD, working in place on
;; the backend's own heap (the module imports the backend's memory; every pointer is a byte offset
;; of a float32 tensor there). Compiled to simd-kernels.wasm.ts by gen-simd.mjs (npm run gen:simd);
;; simd.test.ts fails when the two differ. Semantics match the tfjs cpu backend:
;;   add_bias         out[r, c] = a[r, c] + v[c]
;;   sum_rows         out[c] = sum_r x[r, c], accumulated in float64
;;   maxpool_grad_2x2 2x2 windows, stride 2, tiling the input: the window's first maximum (row-major
;;                    order) receives dy, the other three positions 0
;;   im2col_planar    the transposed im2col [K, M] of a planar [C, B, H, W] input (unit horizontal
;;                    stride and dilation), each run one memory.copy, the padding memory.fill
(module
  (import "env" "memory" (memory 1))

  ;; out[r, c] = a[r, c] + v[c], rows x C floats.
  (func (export "add_bias") (param $a i32) (param $v i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $end i32) (local $rowEnd i32) (local $c i32) (local $b v128) (local $vecEnd i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.mul (local.get $rows) (local.get $C)) (i32.const 2))))
    ;; one channel: the bias is one number for every element
    (if (i32.eq (local.get $C) (i32.const 1))
      (then
        (local.set $b (v128.load32_splat (local.get $v)))
        (local.set $vecEnd (i32.sub (local.get $end) (i32.const 12)))
        (block $done
          (loop $vec
            (br_if $done (i32.ge_u (local.get $a) (local.get $vecEnd)))
            (v128.store (local.get $out) (f32x4.add (v128.load (local.get $a)) (local.get $b)))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (br $vec)))
        (block $done1
          (loop $tail
            (br_if $done1 (i32.ge_u (local.get $a) (local.get $end)))
            (f32.store (local.get $out) (f32.add (f32.load (local.get $a)) (f32.load (local.get $v))))
            (local.set $a (i32.add (local.get $a) (i32.const 4)))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (br $tail)))
        (return)))
    ;; channels a multiple of 4: four channels per instruction
    (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
      (then
        (block $done
          (loop $row
            (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
            (local.set $c (i32.const 0))
            (local.set $rowEnd (i32.shl (local.get $C) (i32.const 2)))
            (loop $ch
              (v128.store (i32.add (local.get $out) (local.get $c))
                (f32x4.add (v128.load (i32.add (local.get $a) (local.get $c))) (v128.load (i32.add (local.get $v) (local.get $c)))))
              (local.set $c (i32.add (local.get $c) (i32.const 16)))
              (br_if $ch (i32.lt_u (local.get $c) (local.get $rowEnd))))
            (local.set $a (i32.add (local.get $a) (local.get $rowEnd)))
            (local.set $out (i32.add (local.get $out) (local.get $rowEnd)))
            (br $row)))
        (return)))
    ;; any other channel count: one float at a time
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $c (i32.const 0))
        (local.set $rowEnd (i32.shl (local.get $C) (i32.const 2)))
        (loop $ch
          (f32.store (i32.add (local.get $out) (local.get $c))
            (f32.add (f32.load (i32.add (local.get $a) (local.get $c))) (f32.load (i32.add (local.get $v) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $ch (i32.lt_u (local.get $c) (local.get $rowEnd))))
        (local.set $a (i32.add (local.get $a) (local.get $rowEnd)))
        (local.set $out (i32.add (local.get $out) (local.get $rowEnd)))
        (br $row))))

  ;; out[c] = sum over rows of x[r, c], in float64; rows >= 1.
  (func (export "sum_rows") (param $x i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $c i32) (local $p i32) (local $r i32) (local $stride i32) (local $v v128)
    (local $lo v128) (local $hi v128) (local $acc f64)
    (local.set $stride (i32.shl (local.get $C) (i32.const 2)))
    (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
      (then
        (loop $ch
          (local.set $lo (v128.const i64x2 0 0))
          (local.set $hi (v128.const i64x2 0 0))
          (local.set $p (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
          (local.set $r (local.get $rows))
          (loop $row
            (local.set $v (v128.load (local.get $p)))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
            (local.set $hi (f64x2.add (local.get $hi) (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $p (i32.add (local.get $p) (local.get $stride)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br_if $row (local.get $r)))
          (v128.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $ch (i32.lt_u (local.get $c) (local.get $C))))
        (return)))
    (loop $ch
      (local.set $acc (f64.const 0))
      (local.set $p (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
      (local.set $r (local.get $rows))
      (loop $row
        (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (local.get $stride)))
        (local.set $r (i32.sub (local.get $r) (i32.const 1)))
        (br_if $row (local.get $r)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $ch (i32.lt_u (local.get $c) (local.get $C)))))

  ;; Max-pool gradient for 2x2 windows of stride 2 that tile x exactly: x is [outRows * 2, 2 * OW, C]
  ;; (outRows = batch * outHeight), dy [outRows, OW, C], dx like x.
  (func (export "maxpool_grad_2x2") (param $x i32) (param $dy i32) (param $dx i32) (param $outRows i32) (param $OW i32) (param $C i32)
    (local $ro i32) (local $ox i32) (local $c i32) (local $cb i32) (local $rowBytes i32) (local $i i32) (local $j i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $m v128) (local $d v128)
    (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $sm f32) (local $sd f32) (local $w i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    ;; bytes of one input row: 2 * OW * C floats
    (local.set $rowBytes (i32.shl (i32.mul (local.get $OW) (local.get $C)) (i32.const 3)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $ro) (local.get $outRows)))
        (local.set $ox (i32.const 0))
        (loop $colLoop
          ;; i: byte offset of the window's top-left element, channel 0
          (local.set $i (i32.add (i32.mul (i32.shl (local.get $ro) (i32.const 1)) (local.get $rowBytes))
                                 (i32.mul (i32.shl (local.get $ox) (i32.const 1)) (local.get $cb))))
          (local.set $c (i32.const 0))
          (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
            (then
              (loop $vec
                (local.set $j (i32.add (local.get $i) (local.get $c)))
                (local.set $v0 (v128.load (i32.add (local.get $x) (local.get $j))))
                (local.set $v1 (v128.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $cb)))))
                (local.set $v2 (v128.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $rowBytes)))))
                (local.set $v3 (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))))
                (local.set $g1 (f32x4.gt (local.get $v1) (local.get $v0)))
                (local.set $m (v128.bitselect (local.get $v1) (local.get $v0) (local.get $g1)))
                (local.set $g2 (f32x4.gt (local.get $v2) (local.get $m)))
                (local.set $m (v128.bitselect (local.get $v2) (local.get $m) (local.get $g2)))
                (local.set $g3 (f32x4.gt (local.get $v3) (local.get $m)))
                (local.set $d (v128.load (i32.add (local.get $dy)
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $ro) (local.get $OW)) (local.get $ox)) (local.get $cb)) (local.get $c)))))
                (v128.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))
                  (v128.and (local.get $d) (local.get $g3)))
                (v128.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $rowBytes)))
                  (v128.and (local.get $d) (v128.andnot (local.get $g2) (local.get $g3))))
                (v128.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $cb)))
                  (v128.and (local.get $d) (v128.andnot (v128.andnot (local.get $g1) (local.get $g2)) (local.get $g3))))
                (v128.store (i32.add (local.get $dx) (local.get $j))
                  (v128.andnot (local.get $d) (v128.or (v128.or (local.get $g1) (local.get $g2)) (local.get $g3))))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br_if $vec (i32.lt_u (local.get $c) (local.get $cb)))))
            (else
              (loop $sc
                (local.set $j (i32.add (local.get $i) (local.get $c)))
                (local.set $s0 (f32.load (i32.add (local.get $x) (local.get $j))))
                (local.set $s1 (f32.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $cb)))))
                (local.set $s2 (f32.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $rowBytes)))))
                (local.set $s3 (f32.load (i32.add (local.get $x) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))))
                (local.set $sm (local.get $s0))
                (local.set $w (i32.const 0))
                (if (f32.gt (local.get $s1) (local.get $sm)) (then (local.set $sm (local.get $s1)) (local.set $w (i32.const 1))))
                (if (f32.gt (local.get $s2) (local.get $sm)) (then (local.set $sm (local.get $s2)) (local.set $w (i32.const 2))))
                (if (f32.gt (local.get $s3) (local.get $sm)) (then (local.set $w (i32.const 3))))
                (local.set $sd (f32.load (i32.add (local.get $dy)
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $ro) (local.get $OW)) (local.get $ox)) (local.get $cb)) (local.get $c)))))
                (f32.store (i32.add (local.get $dx) (local.get $j))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 0))))
                (f32.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $cb)))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 1))))
                (f32.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $rowBytes)))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 2))))
                (f32.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 3))))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (br_if $sc (i32.lt_u (local.get $c) (local.get $cb))))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $colLoop (i32.lt_u (local.get $ox) (local.get $OW))))
        (local.set $ro (i32.add (local.get $ro) (i32.const 1)))
        (br $rowLoop))))

  ;; Transposed im2col [K = FH*FW*C rows, M = B*OH*OW columns] of a planar input [C, B, H, W], for
  ;; unit horizontal stride and dilation; x and col are byte offsets.
  (func (export "im2col_planar")
    (param $x i32) (param $col i32) (param $B i32) (param $H i32) (param $W i32) (param $C i32)
    (param $OH i32) (param $OW i32) (param $FH i32) (param $FW i32) (param $SH i32) (param $DH i32)
    (param $PT i32) (param $PL i32)
    (local $fy i32) (local $fx i32) (local $c i32) (local $b i32) (local $oy i32) (local $iy i32)
    (local $xOff i32) (local $lo i32) (local $hi i32) (local $p i32) (local $plane i32) (local $owBytes i32)
    (local.set $owBytes (i32.shl (local.get $OW) (i32.const 2)))
    (local.set $p (local.get $col))
    (loop $fyLoop
      (local.set $fx (i32.const 0))
      (loop $fxLoop
        (local.set $xOff (i32.sub (local.get $fx) (local.get $PL)))
        ;; output columns whose input column is inside the row: lo <= ox < hi
        (local.set $lo (i32.sub (i32.const 0) (local.get $xOff)))
        (if (i32.lt_s (local.get $lo) (i32.const 0)) (then (local.set $lo (i32.const 0))))
        (if (i32.gt_s (local.get $lo) (local.get $OW)) (then (local.set $lo (local.get $OW))))
        (local.set $hi (i32.sub (local.get $W) (local.get $xOff)))
        (if (i32.gt_s (local.get $hi) (local.get $OW)) (then (local.set $hi (local.get $OW))))
        (if (i32.lt_s (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
        (local.set $c (i32.const 0))
        (loop $cLoop
          (local.set $b (i32.const 0))
          (loop $bLoop
            ;; plane (c, b) of the planar input, in bytes
            (local.set $plane (i32.add (local.get $x)
              (i32.shl (i32.mul (i32.add (i32.mul (local.get $c) (local.get $B)) (local.get $b)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
            (local.set $oy (i32.const 0))
            (loop $oyLoop
              (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $SH)) (i32.mul (local.get $fy) (local.get $DH))) (local.get $PT)))
              (if (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $H)))
                (then (memory.fill (local.get $p) (i32.const 0) (local.get $owBytes)))
                (else
                  (memory.fill (local.get $p) (i32.const 0) (i32.shl (local.get $lo) (i32.const 2)))
                  (memory.copy
                    (i32.add (local.get $p) (i32.shl (local.get $lo) (i32.const 2)))
                    (i32.add (local.get $plane) (i32.shl (i32.add (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $lo)) (local.get $xOff)) (i32.const 2)))
                    (i32.shl (i32.sub (local.get $hi) (local.get $lo)) (i32.const 2)))
                  (memory.fill (i32.add (local.get $p) (i32.shl (local.get $hi) (i32.const 2))) (i32.const 0)
                    (i32.shl (i32.sub (local.get $OW) (local.get $hi)) (i32.const 2)))))
              (local.set $p (i32.add (local.get $p) (local.get $owBytes)))
              (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
              (br_if $oyLoop (i32.lt_u (local.get $oy) (local.get $OH))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br_if $bLoop (i32.lt_u (local.get $b) (local.get $B))))
          (local.set $c (i32.add (local.get $c) (i32.const 1)))
          (br_if $cLoop (i32.lt_u (local.get $c) (local.get $C))))
        (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
        (br_if $fxLoop (i32.lt_u (local.get $fx) (local.get $FW))))
      (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
      (br_if $fyLoop (i32.lt_u (local.get $fy) (local.get $FH)))))
)
