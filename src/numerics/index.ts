/**
 * Plain-JS numerics shared by the model (nuclear norm), the gradient combiners and the trainer (gradient cosines):
 * float32 vectors with float64 accumulation, Gram matrices, small float64 matrices, the symmetric eigensolver,
 * small solvers and the simplex projection. Nothing here knows TF.js.
 */
export { bilinear, columnSums, matVec, maxDiagonal, sum, type Matrix } from './matrix.js';
export { axpy, dot, linearCombination, stepVectors } from './vectors.js';
export { cosineMatrix, gram, smallerGram } from './gram.js';
export { symmetricEigen, symmetricEigenPacked, type Eigen } from './eigen.js';
export { pseudoSolve, solveLinear } from './solve.js';
export { projectOntoSimplex } from './simplex.js';
export { projectOntoDualCone, solveNonNegativeQp, type NonNegativeQpResult } from './qp.js';
export { logGamma, regularizedIncompleteBeta, studentTTwoSidedP } from './student-t.js';
